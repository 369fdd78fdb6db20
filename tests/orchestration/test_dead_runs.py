"""Runs whose process died: marked failed with the dead pid named, their `duckdb` slot freed; live
runs and runs of other hosts left alone."""

import os
import shutil
import socket
import subprocess
import sys

import dagster as dg
import psutil
import pytest

from orchestration.dead_runs import HOST_TAG, PID_TAG, POOL, PROCESS_START_TAG, process_tags, release_dead_runs, runs_of_process
from orchestration.instance import INSTANCE_CONFIG


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """An instance as `stripe-close` configures it: SQLite storage and the `duckdb` pool of one slot."""
    shutil.copyfile(INSTANCE_CONFIG, tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        yield instance


def started_run(instance: dg.DagsterInstance, tags: dict[str, str]) -> str:
    """A run as a process left it when it died in a step: STARTED, holding the pool's one slot."""
    run = instance.create_run_for_job(dg.GraphDefinition(name="close", node_defs=[]).to_job(), tags=tags)
    instance.handle_run_event(run.run_id, dg.DagsterEvent(dg.DagsterEventType.RUN_START.value, job_name=run.job_name))
    instance.event_log_storage.initialize_concurrency_limit_to_default(POOL)
    assert instance.event_log_storage.claim_concurrency_slot(POOL, run.run_id, "ledger_dbt_models").is_claimed
    return run.run_id


def dead_process_tags() -> dict[str, str]:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = psutil.Process(child.pid).create_time()
    child.wait()
    return {**process_tags(), PID_TAG: str(child.pid), PROCESS_START_TAG: f"{started:.2f}"}


def test_a_dead_process_run_is_failed_and_its_slot_freed(instance):
    run_id = started_run(instance, dead_process_tags())
    messages = []
    assert release_dead_runs(instance, messages.append) == [run_id]
    run = instance.get_run_by_id(run_id)
    assert run.status == dg.DagsterRunStatus.FAILURE
    assert instance.event_log_storage.get_concurrency_info(POOL).claimed_slots == []
    [message] = messages
    assert message.startswith(f"run {run_id} (close): the process running it (pid {run.tags[PID_TAG]}) is gone")
    assert f"marked failed by pid {os.getpid()}" in message
    # Once is enough.
    assert release_dead_runs(instance, messages.append) == []


def test_live_runs_and_other_hosts_runs_keep_their_slots(instance):
    live = started_run(instance, process_tags())
    assert release_dead_runs(instance, print) == []
    instance.event_log_storage.free_concurrency_slots_for_run(live)
    elsewhere = started_run(instance, {**dead_process_tags(), HOST_TAG: "another-host"})
    assert release_dead_runs(instance, print) == []
    assert instance.get_run_by_id(live).status == dg.DagsterRunStatus.STARTED
    assert instance.get_run_by_id(elsewhere).status == dg.DagsterRunStatus.STARTED
    assert [slot.run_id for slot in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots] == [elsewhere]


def test_a_reused_pid_is_still_recognised_as_gone(instance):
    # The pid is alive (this very process) but started at another moment: not the run's process.
    run_id = started_run(instance, {**process_tags(), PROCESS_START_TAG: "1.00"})
    assert release_dead_runs(instance, print) == [run_id]


def test_a_finished_run_that_kept_a_slot_gives_it_back(instance):
    run_id = started_run(instance, {})
    instance.report_run_failed(instance.get_run_by_id(run_id), "failed elsewhere")
    instance.event_log_storage.claim_concurrency_slot(POOL, run_id, "ledger_dbt_models")
    release_dead_runs(instance, print)
    assert instance.event_log_storage.get_concurrency_info(POOL).claimed_slots == []


def test_the_runs_of_a_process_are_found_by_its_tags(instance):
    mine = started_run(instance, process_tags())
    instance.event_log_storage.free_concurrency_slots_for_run(mine)
    started_run(instance, dead_process_tags())
    assert runs_of_process(instance, os.getpid(), socket.gethostname()) == [mine]
    assert runs_of_process(instance, os.getpid(), "another-host") == []
