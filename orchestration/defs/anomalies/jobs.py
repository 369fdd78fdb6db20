"""The anomaly watch after every successful ledger run: `anomaly_watch_after_close` starts
`anomaly_watch_job` for the days the ledger run built (one partition or a range), so the hourly
and daily closes are watched without a schedule of their own, and a failed ledger run (a proof
failed) is not watched: its alert is the failure's.
"""

import dagster as dg

from orchestration.defs.anomalies.assets import close_anomalies
from orchestration.defs.schedules.jobs import ledger_close_job
from orchestration.partition_runs import RANGE_END_TAG, RANGE_START_TAG
from orchestration.partitions import daily_partitions

PARTITION_TAG = "dagster/partition"

anomaly_watch_job = dg.define_asset_job(
    "anomaly_watch_job",
    selection=dg.AssetSelection.assets(close_anomalies),
    partitions_def=daily_partitions,
    executor_def=dg.in_process_executor,
    description="Judge the close metrics of the run's days against their usual range (warning checks, webhook message per day).",
)


def watch_request(run: dg.DagsterRun) -> dg.RunRequest | dg.SkipReason:
    """The watch of the days a successful ledger run built, keyed by that run."""
    key = f"anomalies-{run.run_id}"
    if run.tags.get(PARTITION_TAG):
        return dg.RunRequest(run_key=key, partition_key=run.tags[PARTITION_TAG])
    start, end = run.tags.get(RANGE_START_TAG), run.tags.get(RANGE_END_TAG)
    if start and end:
        return dg.RunRequest(run_key=key, tags={RANGE_START_TAG: start, RANGE_END_TAG: end})
    return dg.SkipReason(f"ledger run {run.run_id} has no days (a run without a partition): nothing to watch")


@dg.run_status_sensor(
    name="anomaly_watch_after_close", run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[ledger_close_job],
    request_job=anomaly_watch_job, default_status=dg.DefaultSensorStatus.RUNNING,
    description="When a ledger run succeeds, watches its days for anomalies (anomaly_watch_job).",
)
def anomaly_watch_after_close(context: dg.RunStatusSensorContext):
    return watch_request(context.dagster_run)
