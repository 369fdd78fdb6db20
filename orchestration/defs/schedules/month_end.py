"""The month-end chain: proofs, then the lock, then the exports; a failing step stops what follows.

Why a chain of runs and not one job: the proofs are asset materializations over the month's
daily partitions, the lock is `period_close_job` (an op: an accountant's decision, not a
materialization), and the exports are the month's monthly partition; Dagster runs one partitions
definition per run. So each step is its own run, and the next starts only when a run-status sensor
sees the one before it SUCCEED:

1. `month_end_close` (schedule) starts `ledger_close_job` over the month's days, tagged
   `close/month_end=<period>`. A failing dbt proof fails the dbt step, and a failing GX proof is a
   blocking check, which fails the run: either way the run does not succeed.
2. `month_end_lock_after_proofs` sees that run succeed and starts `period_close_job` to lock the
   period (same tag); the lock proves the ledger once more as it stands (an hourly run may have
   rebuilt it meanwhile) and refuses if a proof fails.
3. `month_end_export_after_lock` sees the lock succeed and starts `period_export_job` for the
   period's monthly partition; the exports' own guard checks the proofs' latest results again.

A failed run stops the chain there and `close_failure_alert` tells a person. Start the chain again
from the schedule's page (or re-run the failed run); a period already locked refuses a second lock.
Both sensors run by default: they act only on runs tagged `close/month_end`.
"""

import dagster as dg

from orchestration.defs.close.jobs import period_close_job
from orchestration.defs.schedules.jobs import ledger_close_job, period_export_job
from orchestration.defs.schedules.schedules import MONTH_END_TAG

MONTH_END_ACTOR = "month_end_close"


def _next_step(name: str, after: dg.JobDefinition, starts, description: str, request) -> dg.RunStatusSensorDefinition:
    """A sensor that, when a month-end run of `after` succeeds, asks `request(period, run_id)` for the next run."""

    @dg.run_status_sensor(
        name=name, run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[after], request_job=starts,
        default_status=dg.DefaultSensorStatus.RUNNING, description=description,
    )
    def next_step(context: dg.RunStatusSensorContext):
        period = context.dagster_run.tags.get(MONTH_END_TAG)
        if not period:
            return dg.SkipReason(f"run {context.dagster_run.run_id} is not a month-end close")
        return request(period, context.dagster_run.run_id)

    return next_step


month_end_lock_after_proofs = _next_step(
    "month_end_lock_after_proofs", ledger_close_job, period_close_job,
    "When a month-end ledger run's proofs pass, locks its period with period_close_job.",
    lambda period, run_id: dg.RunRequest(
        run_key=f"lock-{period}-{run_id}",
        run_config={"ops": {"lock_or_reopen_period": {"config": {"period": period, "action": "lock", "actor": MONTH_END_ACTOR}}}},
        tags={MONTH_END_TAG: period},
    ),
)

month_end_export_after_lock = _next_step(
    "month_end_export_after_lock", period_close_job, period_export_job,
    "When the month-end lock succeeds, exports the locked period (its monthly partition).",
    lambda period, run_id: dg.RunRequest(run_key=f"export-{period}-{run_id}", partition_key=period, tags={MONTH_END_TAG: period}),
)
