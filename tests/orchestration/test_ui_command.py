"""`stripe-close ui` says what it does before each long step and leaves nothing behind: SIGTERM stops
the webserver, the daemon, the code server, the download server and the sandbox with it.
(`--no-backfill`: closing the sandbox's months first takes minutes and is `stripe-close backfill`'s, tested with it.)"""

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

import psutil
import pytest
import requests

from orchestration.instance import PROJECT_ROOT

pytestmark = pytest.mark.e2e
# Generous: dagster dev's start on two cores that other work shares.
READY_CEILING_S = 600


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_sigterm_stops_every_child(tmp_path):
    ui_port, downloads_port = free_port(), free_port()
    environment = {
        **os.environ, "DAGSTER_HOME": str(tmp_path / "dagster"), "CLOSE_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "CLOSE_EXPORT_DIR": str(tmp_path / "exports"), "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    environment.pop("CLOSE_DOWNLOAD_BASE_URL", None)
    command = [sys.executable, "-m", "orchestration.cli", "ui", "--days", "10", "--transactions-per-day", "3", "--no-backfill",
               "--port", str(ui_port), "--downloads-port", str(downloads_port)]
    ui = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in ui.stdout], daemon=True).start()
    said = []
    try:
        deadline = time.monotonic() + READY_CEILING_S
        while not any(line.startswith("Dagster UI ready at") for line in said):
            assert ui.poll() is None and time.monotonic() < deadline, "".join(said)[-3000:]
            try:
                said.append(lines.get(timeout=5))
            except queue.Empty:
                pass
        children = psutil.Process(ui.pid).children(recursive=True)
        groups = {os.getpgid(process.pid) for process in children}
        assert len(children) >= 3, children  # dagster dev, its webserver and daemon at least
        assert requests.get(f"http://127.0.0.1:{ui_port}/server_info", timeout=10).ok
        # The download server answers from the exports folder (no listings).
        assert requests.get(f"http://127.0.0.1:{downloads_port}/", timeout=10).status_code == 404

        ui.send_signal(signal.SIGTERM)
        assert ui.wait(timeout=180) == 128 + signal.SIGTERM
    finally:
        if ui.poll() is None:
            ui.kill()
    survivors = [process for process in children if process.is_running() and process.status() != psutil.STATUS_ZOMBIE]
    assert not survivors, survivors
    assert not [process for process in psutil.process_iter() if _group(process) in groups], "a process of a child's group survived"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{downloads_port}/", timeout=5)
    messages = "".join(said)
    # Before each long silent step, a line that says what is happening.
    assert messages.index("Not backfilling (--no-backfill)") < messages.index("Starting the Dagster webserver and daemon (dagster dev) at ")
    assert f"exports served for download at http://127.0.0.1:{downloads_port}" in messages


def _group(process: psutil.Process) -> int | None:
    try:
        return os.getpgid(process.pid)
    except (ProcessLookupError, psutil.Error):
        return None
