"""One writer per warehouse, claimed through the operating system: a lock the kernel drops when its
process dies, however it dies.

Why not Dagster's `duckdb` pool alone: a pool slot is a row in the instance's database, so a run
killed with SIGKILL keeps its slot and the next run waits for it forever. An `flock` on a file
beside the warehouse is released by the kernel the moment the holding process is gone. The holder
writes who it is into that file, so a run that waits can say whom it waits for.

The claim is re-entrant within a process (a CLI command that claims the warehouse and then runs
Dagster in process claims it once), and a wait sleeps, speaks up after `NOTICE_AFTER_S`, and stops
on SIGTERM or SIGINT.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from ledger.stop_signals import raising_on_stop_signals

NOTICE_AFTER_S = 30.0
POLL_INTERVAL_S = 0.5

_claims: dict[Path, tuple[int, int]] = {}  # lock file -> (open descriptor, depth) held by this process


class WaitInterrupted(Exception):
    """A signal stopped a run that was waiting for the warehouse; nothing was written."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name} while waiting for the warehouse; nothing was written")
        self.signum = signum


@dataclass(frozen=True)
class LockHolder:
    pid: int
    host: str
    command: str
    since: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} ({self.command}), since {self.since}"


def lock_file(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


def current_holder(warehouse: Path) -> LockHolder | None:
    """Who wrote the lock file last: the holder while the lock is taken."""
    try:
        return LockHolder(**json.loads(lock_file(warehouse).read_text()))
    except (OSError, ValueError, TypeError):
        return None


@contextmanager
def claim_warehouse(
    warehouse: Path, notify: Callable[[str], None] | None = None, holder_runs: Callable[[LockHolder], list[str]] | None = None,
) -> Iterator[None]:
    """Hold the warehouse for this process; wait (sleeping) while another process holds it.
    `holder_runs` names the runs the holder is executing, for the notice after NOTICE_AFTER_S."""
    path = lock_file(warehouse.resolve())
    if path in _claims:
        descriptor, depth = _claims[path]
        _claims[path] = (descriptor, depth + 1)
        try:
            yield
        finally:
            _release(path)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _wait_for(descriptor, warehouse, notify or _to_stderr, holder_runs or (lambda _holder: []))
    except BaseException:
        os.close(descriptor)
        raise
    _claims[path] = (descriptor, 1)
    _write_holder(descriptor)
    try:
        yield
    finally:
        _release(path)


def _wait_for(descriptor: int, warehouse: Path, notify: Callable[[str], None], holder_runs: Callable[[LockHolder], list[str]]) -> None:
    if _try_lock(descriptor):
        return
    started, noticed = time.monotonic(), False
    with raising_on_stop_signals(WaitInterrupted):
        while not _try_lock(descriptor):
            if not noticed and time.monotonic() - started >= NOTICE_AFTER_S:
                holder = current_holder(warehouse)
                runs = holder_runs(holder) if holder else []
                notify(f"waiting for the warehouse {warehouse}: it is held by "
                       + (holder.describe() if holder else "another process")
                       + (f", running Dagster run {', '.join(runs)}" if runs else "") + "; this run starts when it ends")
                noticed = True
            time.sleep(POLL_INTERVAL_S)
    if noticed:
        notify(f"the warehouse is free after {time.monotonic() - started:.0f} s; starting")


def _try_lock(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True



def _write_holder(descriptor: int) -> None:
    holder = LockHolder(
        pid=os.getpid(), host=socket.gethostname(), command=" ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        since=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
    )
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, json.dumps(asdict(holder)).encode(), 0)


def _release(path: Path) -> None:
    descriptor, depth = _claims[path]
    if depth > 1:
        _claims[path] = (descriptor, depth - 1)
        return
    del _claims[path]
    # Closing the descriptor drops the flock; the file stays (removing it would race a waiter).
    os.close(descriptor)


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
