"""The close's schedules and the month-end chain, evaluated with Dagster's own test helpers."""

import functools
from datetime import datetime, timezone

import dagster as dg
import pytest

from orchestration.defs.schedules import schedules
from orchestration.defs.schedules.jobs import ledger_close_job
from orchestration.defs.schedules.month_end import month_end_export_after_lock, month_end_lock_after_proofs
from orchestration import definitions
from orchestration.partitions import daily_partitions

RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
# Loading the code location takes seconds: once for the module.
defs = functools.cache(definitions.defs)


def tick(schedule: dg.ScheduleDefinition, when: datetime) -> dg.RunRequest | dg.SkipReason:
    """What the daemon would get from the schedule at `when`, checked against the code location's job."""
    with dg.build_schedule_context(scheduled_execution_time=when) as context:
        data = schedule.evaluate_tick(context)
    if data.skip_message:
        return dg.SkipReason(data.skip_message)
    [request] = data.run_requests
    job = defs().resolve_job_def(schedule.job_name)
    keys = dg.PartitionKeyRange(*(request.tags[tag] for tag in RANGE))
    # The range is one the job's partitions have: what a backfill of it would run.
    assert job.partitions_def.get_partition_keys_in_range(keys)[0] == keys.start
    return request


@pytest.mark.parametrize(("schedule", "when", "days", "run_key"), [
    # Every hour: yesterday (late objects) and today, in one run.
    (schedules.continuous_close, datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc), ("2026-11-24", "2026-11-23"), "continuous-2026-11-24T10:00:00+00:00"),
    # After midnight: the day that just ended, here the last of a month.
    (schedules.daily_close, datetime(2026, 12, 1, 0, 30, tzinfo=timezone.utc), ("2026-11-30", "2026-11-30"), "daily-2026-11-30"),
    # After the grace period: every day of the month before.
    (schedules.month_end_close, datetime(2026, 11, 4, 2, 0, tzinfo=timezone.utc), ("2026-10-31", "2026-10-01"), "month-end-2026-10"),
])
def test_each_schedule_runs_the_ledger_for_its_days(schedule, when, days, run_key):
    request = tick(schedule, when)
    assert (request.tags[RANGE[1]], request.tags[RANGE[0]]) == days
    assert (request.run_key, request.tags["close/schedule"], schedule.job_name) == (run_key, schedule.name, "ledger_close_job")
    assert request.tags.get("close/month_end") == ("2026-10" if schedule is schedules.month_end_close else None)


def test_the_schedules_cron_in_the_reporting_time_zone():
    assert [(s.cron_schedule, s.execution_timezone) for s in (schedules.continuous_close, schedules.daily_close, schedules.month_end_close)] == [
        # Default grace: three calendar days, so the month-end close runs on the 4th at 02:00.
        ("0 * * * *", "UTC"), ("30 0 * * *", "UTC"), ("0 2 4 * *", "UTC"),
    ]


def test_a_tick_before_the_first_partition_starts_nothing():
    first = daily_partitions.get_first_partition_key()
    result = tick(schedules.daily_close, datetime.fromisoformat(f"{first}T00:30:00+00:00"))
    assert isinstance(result, dg.SkipReason) and "before the first accounting day" in result.skip_message


def test_schedules_are_stopped_unless_asked_to_run(monkeypatch):
    for schedule in (schedules.continuous_close, schedules.daily_close, schedules.month_end_close):
        assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    monkeypatch.setenv("CLOSE_SCHEDULES_RUNNING", "1")
    assert schedules.default_status() == dg.DefaultScheduleStatus.RUNNING
    monkeypatch.setenv("CLOSE_SCHEDULES_RUNNING", "0")
    assert schedules.default_status() == dg.DefaultScheduleStatus.STOPPED


def test_the_grace_period_is_whole_calendar_days(monkeypatch):
    monkeypatch.setenv("CLOSE_MONTH_END_GRACE_DAYS", "0")
    assert schedules.month_end_grace_days() == 0
    monkeypatch.setenv("CLOSE_MONTH_END_GRACE_DAYS", "30")
    with pytest.raises(ValueError, match="CLOSE_MONTH_END_GRACE_DAYS='30': give whole calendar days from 0 to 27"):
        schedules.month_end_grace_days()


def finished_run(instance: dg.DagsterInstance, job_name: str, tags: dict[str, str], succeed: bool = True) -> dg.RunStatusSensorContext:
    @dg.op(name=f"{job_name}_step")
    def step():
        """Stand-in step: the chain's sensors read only the run's job, status and tags."""
        if not succeed:
            raise RuntimeError("a blocking proof failed")

    @dg.job(name=job_name)
    def job():
        step()

    result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    event = result.get_run_success_event() if succeed else result.get_run_failure_event()
    return dg.build_run_status_sensor_context(
        sensor_name="month_end", dagster_instance=instance, dagster_run=result.dagster_run, dagster_event=event,
    )


def test_proofs_that_passed_lock_the_period_and_the_lock_exports_it():
    with dg.instance_for_test() as instance:
        proofs = finished_run(instance, "ledger_close_job", {"close/month_end": "2026-10", RANGE[0]: "2026-10-01", RANGE[1]: "2026-10-31"})
        lock = month_end_lock_after_proofs(proofs)
        assert lock.tags == {"close/month_end": "2026-10"}
        assert lock.run_config == {"ops": {"lock_or_reopen_period": {"config": {"period": "2026-10", "action": "lock", "actor": "month_end_close"}}}}
        assert lock.run_key == f"lock-2026-10-{proofs.dagster_run.run_id}"
        # The lock request is valid config for the real period_close_job.
        assert dg.validate_run_config(defs().resolve_job_def("period_close_job"), lock.run_config)["ops"]["lock_or_reopen_period"]["config"]["period"] == "2026-10"
        locked = finished_run(instance, "period_close_job", lock.tags)
        export = month_end_export_after_lock(locked)
        assert (export.partition_key, export.tags) == ("2026-10", {"close/month_end": "2026-10"})
    assert month_end_lock_after_proofs.job_name == "period_close_job"
    assert month_end_export_after_lock.job_name == "period_export_job"


def test_ordinary_runs_and_failed_proofs_start_nothing():
    with dg.instance_for_test() as instance:
        hourly = finished_run(instance, "ledger_close_job", {"close/schedule": "continuous_close"})
        assert isinstance(month_end_lock_after_proofs(hourly), dg.SkipReason)
        manual_lock = finished_run(instance, "period_close_job", {})
        assert isinstance(month_end_export_after_lock(manual_lock), dg.SkipReason)
        failed = finished_run(instance, "ledger_close_job", {"close/month_end": "2026-10"}, succeed=False)
    # The chain's sensors are SUCCESS run-status sensors: a failed proof run never reaches them.
    assert failed.dagster_run.status == dg.DagsterRunStatus.FAILURE


def test_the_code_location_carries_the_schedules_and_the_chain():
    definitions = defs()
    assert {schedule.name for schedule in definitions.schedules} >= {"continuous_close", "daily_close", "month_end_close"}
    sensors = {sensor.name for sensor in definitions.sensors}
    assert {"month_end_lock_after_proofs", "month_end_export_after_lock", "close_failure_alert", "bank_inbox_sensor", "stripe_data_pipeline_delivery"} <= sensors
    export_job = definitions.resolve_job_def("period_export_job")
    assert {key.to_user_string() for key in export_job.asset_layer.executable_asset_keys} >= {"netsuite_journal_csv", "sap_journal_files", "accountant_journal"}
    checks = {key.name for key in ledger_close_job.selection.resolve_checks(definitions.resolve_asset_graph())}
    assert {"journal_balances", "gx_automatic_payouts_tie_out"} <= checks
