"""The processes `stripe-close ui` starts, and their end: each child in its own process group, so a
SIGINT or SIGTERM to `stripe-close ui` stops the whole group of each (dagster dev's webserver,
daemon, code server and runs; a backfill and its dbt), and nothing outlives it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import requests

# How long a child group gets to stop on SIGTERM before SIGKILL: dagster dev stops its webserver,
# daemon and code server in a few seconds on a quiet machine.
STOP_GRACE_SECONDS = 30


class Stopped(Exception):
    """SIGTERM or SIGINT reached `stripe-close ui`."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum



@contextmanager
def child(command: Sequence[str], environment: dict[str, str]) -> Iterator[subprocess.Popen]:
    """Start `command` in a new process group; on leaving, SIGTERM the group, then SIGKILL what remains."""
    process = subprocess.Popen(list(command), env=environment, start_new_session=True)
    try:
        yield process
    finally:
        # A second Ctrl-C while the group stops must not leave it half-stopped.
        previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGTERM, signal.SIGINT)}
        try:
            stop_group(process)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def stop_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        pass
    # The leader may be gone while its children still stop; whatever is left of the group goes.
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while _group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float) -> bool:
    """Poll `url` until it answers (True), the process exits or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).ok:
                return True
        except requests.RequestException:
            pass
        time.sleep(1)
    return False
