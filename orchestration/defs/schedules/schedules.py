"""The close on a clock: continuous (hourly), daily, and month-end, in the reporting time zone.

- `continuous_close`, every hour: `ledger_close_job` over yesterday and today (one run over both
  days), so late Stripe objects of yesterday land and today's ledger stays current.
- `daily_close`, at 00:30 after each accounting day: `ledger_close_job` for yesterday.
- `month_end_close`, on day 1 + CLOSE_MONTH_END_GRACE_DAYS (calendar days, default 3: the 4th) at
  02:00: the month-end chain for the month before (see `month_end.py`): the proofs over all its
  days, then the lock, then the exports.

Default state: STOPPED, so a production deployment starts nothing until someone turns them on in
the UI (Automation) or sets CLOSE_SCHEDULES_RUNNING=1; `stripe-close ui` (make ui) sets it, so the
sandbox runs the continuous close by itself.
"""

import os
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.defs.schedules.jobs import ledger_close_job
from orchestration.partition_runs import range_tags
from orchestration.partitions import REPORTING_TIMEZONE, daily_partitions

MONTH_END_TAG = "close/month_end"
SCHEDULE_TAG = "close/schedule"
GRACE_DAYS_VARIABLE = "CLOSE_MONTH_END_GRACE_DAYS"


def default_status() -> dg.DefaultScheduleStatus:
    running = os.environ.get("CLOSE_SCHEDULES_RUNNING", "") not in ("", "0")
    return dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED


def month_end_grace_days() -> int:
    value = os.environ.get(GRACE_DAYS_VARIABLE, "3")
    if not value.isdigit() or int(value) > 27:
        raise ValueError(f"{GRACE_DAYS_VARIABLE}={value!r}: give whole calendar days from 0 to 27 after the month ends")
    return int(value)


def days_request(first: date, last: date, schedule: str, run_key: str, tags: dict[str, str] | None = None) -> dg.RunRequest | dg.SkipReason:
    """One run of `ledger_close_job` over the days [first, last], clipped to the partitions that exist."""
    first = max(first, date.fromisoformat(daily_partitions.get_first_partition_key()))
    if last < first:
        return dg.SkipReason(f"{last} is before the first accounting day {first} (CLOSE_PARTITIONS_START)")
    return dg.RunRequest(
        run_key=run_key,
        tags={**range_tags(dg.PartitionKeyRange(first.isoformat(), last.isoformat())), SCHEDULE_TAG: schedule, **(tags or {})},
    )


def _local_day(context: dg.ScheduleEvaluationContext) -> date:
    """The tick's accounting day, in the reporting time zone whatever zone the tick arrives in."""
    return context.scheduled_execution_time.astimezone(ZoneInfo(REPORTING_TIMEZONE)).date()


@dg.schedule(
    job=ledger_close_job, cron_schedule="0 * * * *", execution_timezone=REPORTING_TIMEZONE,
    default_status=default_status(),
    description="Every hour: ingest Stripe and rebuild the ledger with its proofs for yesterday and today.",
)
def continuous_close(context: dg.ScheduleEvaluationContext):
    today = _local_day(context)
    return days_request(today - timedelta(days=1), today, "continuous_close", f"continuous-{context.scheduled_execution_time.isoformat()}")


@dg.schedule(
    job=ledger_close_job, cron_schedule="30 0 * * *", execution_timezone=REPORTING_TIMEZONE,
    default_status=default_status(),
    description="After each accounting day ends: ingest and rebuild the ledger with its proofs for that day.",
)
def daily_close(context: dg.ScheduleEvaluationContext):
    yesterday = _local_day(context) - timedelta(days=1)
    return days_request(yesterday, yesterday, "daily_close", f"daily-{yesterday.isoformat()}")


@dg.schedule(
    job=ledger_close_job, cron_schedule=f"0 2 {1 + month_end_grace_days()} * *", execution_timezone=REPORTING_TIMEZONE,
    default_status=default_status(),
    description="Month-end close of the month before, after the grace period: proofs, then the lock, then the exports.",
)
def month_end_close(context: dg.ScheduleEvaluationContext):
    last = _local_day(context).replace(day=1) - timedelta(days=1)
    period = f"{last:%Y-%m}"
    return days_request(last.replace(day=1), last, "month_end_close", f"month-end-{period}", {MONTH_END_TAG: period})
