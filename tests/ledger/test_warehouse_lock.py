"""The warehouse claim: released by the kernel when its holder dies, waited for by sleeping, named
after NOTICE_AFTER_S, and given up on SIGTERM with one line."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from ledger.warehouse_lock import claim_warehouse, current_holder

STRIPE_CLOSE = str(Path(sys.executable).with_name("stripe-close"))
HOLD = """
import sys, time
from pathlib import Path
from ledger.warehouse_lock import claim_warehouse
with claim_warehouse(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(600)
"""
WAIT = """
import sys
from pathlib import Path
import ledger.warehouse_lock as lock
lock.NOTICE_AFTER_S = 1.0
with lock.claim_warehouse(Path(sys.argv[1]), holder_runs=lambda holder: [f"run-of-{holder.pid}"]):
    print("claimed", flush=True)
"""


def start(script: str, warehouse: Path, **options) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, str(warehouse)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **options)


def wait_for_line(stream, expected: str) -> str:
    line = stream.readline()
    assert line.strip() == expected, line
    return line


def wait_until(condition, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


@pytest.fixture
def holder(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    process = start(HOLD, warehouse)
    wait_for_line(process.stdout, "held")
    yield warehouse, process
    process.kill()
    process.wait()


def test_a_waiter_sleeps_names_the_holder_and_takes_over_when_the_holder_is_killed(holder):
    warehouse, holding = holder
    waiting = start(WAIT, warehouse)
    notice = waiting.stderr.readline()
    assert notice.startswith(f"waiting for the warehouse {warehouse}: it is held by pid {holding.pid} on ")
    assert notice.rstrip().endswith(f", running Dagster run run-of-{holding.pid}; this run starts when it ends")
    assert waiting.poll() is None
    # Sleeping, not spinning: over three more seconds of waiting it uses a fraction of a core.
    before = psutil.Process(waiting.pid).cpu_times()
    time.sleep(3)
    after = psutil.Process(waiting.pid).cpu_times()
    assert (after.user + after.system) - (before.user + before.system) < 1.0
    holding.send_signal(signal.SIGKILL)
    out, err = waiting.communicate(timeout=60)
    assert out == "claimed\n"
    assert "the warehouse is free after" in err
    assert current_holder(warehouse).pid == waiting.pid


def test_a_waiting_command_stops_on_sigterm_with_one_line(holder, tmp_path):
    warehouse, _ = holder
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("CLOSE_", "STRIPE_", "DAGSTER_"))}
    command = subprocess.Popen(
        [STRIPE_CLOSE, "package", "--period", "2026-10"], cwd=tmp_path, env={**environment, "CLOSE_WAREHOUSE": str(warehouse)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # It waits in the claim (the lock file names the holder, not this command) until told to stop.
    wait_until(lambda: psutil.Process(command.pid).status() == psutil.STATUS_SLEEPING and _started(command.pid))
    command.send_signal(signal.SIGTERM)
    out, err = command.communicate(timeout=60)
    assert command.returncode == 128 + signal.SIGTERM
    assert err == "stripe-close package: stopped by SIGTERM while waiting for the warehouse; nothing was written\n"
    assert out == ""


def _started(pid: int) -> bool:
    # The interpreter has imported the CLI once its open files include the lock file.
    return any(item.path.endswith(".duckdb.lock") for item in psutil.Process(pid).open_files())


def test_the_claim_is_reentrant_in_a_process_and_exclusive_across_processes(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with claim_warehouse(warehouse):
        with claim_warehouse(warehouse):
            pass
        # Still held after the inner claim ends: another process cannot take it.
        probe = subprocess.run(
            [sys.executable, "-c", "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)", f"{warehouse}.lock"],
            capture_output=True, text=True,
        )
        assert probe.returncode != 0 and "BlockingIOError" in probe.stderr
        assert current_holder(warehouse).pid == os.getpid()
    with claim_warehouse(warehouse):
        pass
