"""Runs whose process died: found by the process tags every in-process run carries, marked failed,
and their `duckdb` pool slots freed.

A run killed with SIGKILL never reports its end: the instance keeps it STARTED and keeps its pool
slot, and Dagster's in-process executor would wait for that slot forever. Every run this project
starts in process is tagged with its pid, host, boot id and the process's start time (pids are
reused); a later run on the same host, holding the warehouse (ledger/warehouse_lock.py), can tell
for certain that such a process is gone. Runs launched by the Dagster daemon carry no such tags and
are left to Dagster's run monitoring.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import psutil
from dagster._core.storage.dagster_run import FINISHED_STATUSES, NOT_FINISHED_STATUSES

PID_TAG = "stripe-close/pid"
HOST_TAG = "stripe-close/host"
BOOT_TAG = "stripe-close/boot-id"
PROCESS_START_TAG = "stripe-close/process-started"
POOL = "duckdb"
POOL_WAIT_NOTICE_S = 30.0
POOL_POLL_INTERVAL_S = 1.0


def process_tags() -> dict[str, str]:
    """Tags that let a later process tell whether this one is still alive."""
    return {
        PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(), BOOT_TAG: _boot_id(),
        PROCESS_START_TAG: f"{psutil.Process().create_time():.2f}",
    }


def release_dead_runs(instance: dg.DagsterInstance, notify: Callable[[str], None]) -> list[str]:
    """Mark failed every unfinished run whose process is gone, free the pool slots of dead or
    finished runs, and return the ids of the runs marked failed."""
    released = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=NOT_FINISHED_STATUSES, tags={HOST_TAG: socket.gethostname()})):
        if not _process_gone(run.tags):
            continue
        message = (f"the process running it (pid {run.tags[PID_TAG]}) is gone, killed or crashed; "
                   f"marked failed by pid {os.getpid()}, which frees its '{POOL}' pool slot")
        instance.report_run_failed(run, message)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        notify(f"run {run.run_id} ({run.job_name}): {message}")
        released.append(run.run_id)
    for run_id in _pool_holders(instance):
        run = instance.get_run_by_id(run_id)
        if run is None or run.status in FINISHED_STATUSES:
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    return released


def runs_of_process(instance: dg.DagsterInstance, pid: int, host: str) -> list[str]:
    """The unfinished runs that process `pid` on `host` executes."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=NOT_FINISHED_STATUSES, tags={PID_TAG: str(pid), HOST_TAG: host}))
    return [run.run_id for run in runs]


def wait_for_pool(instance: dg.DagsterInstance, notify: Callable[[str], None]) -> None:
    """Sleep until no live run holds the `duckdb` pool (a run the daemon launched on this warehouse).

    Dagster's own wait for a slot polls without sleeping; this one sleeps and speaks up after
    POOL_WAIT_NOTICE_S."""
    started, noticed = time.monotonic(), False
    while holders := _pool_holders(instance):
        if not noticed and time.monotonic() - started >= POOL_WAIT_NOTICE_S:
            notify(f"waiting for Dagster run(s) {', '.join(sorted(holders))} to free the '{POOL}' pool")
            noticed = True
        time.sleep(POOL_POLL_INTERVAL_S)
        release_dead_runs(instance, notify)


def _pool_holders(instance: dg.DagsterInstance) -> set[str]:
    info = instance.event_log_storage.get_concurrency_info(POOL)
    return info.active_run_ids | info.assigned_run_ids


def _process_gone(tags: dg.RunTags | dict[str, str]) -> bool:
    if tags.get(HOST_TAG) != socket.gethostname() or PID_TAG not in tags:
        return False
    if tags.get(BOOT_TAG) != _boot_id():
        return True  # the machine restarted since
    try:
        process = psutil.Process(int(tags[PID_TAG]))
        return f"{process.create_time():.2f}" != tags.get(PROCESS_START_TAG) or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return f"{psutil.boot_time():.0f}"
