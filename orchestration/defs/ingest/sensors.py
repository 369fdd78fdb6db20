"""Start an ingestion run when Stripe Data Pipeline finishes a delivery (a new SUCCESS marker).

A delivery is a full copy, so the run loads all of it; it is recorded on the accounting day of the
delivery's cut-off (the daily partition), which is where the UI shows it.
"""

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from ledger.config import ConfigError
from ledger.sources.data_pipeline import complete_runs
from ledger.sources.ingest_settings import IngestSettings
from orchestration.defs.ingest.assets import RAW_ASSET_KEYS
from orchestration.partitions import REPORTING_TIMEZONE, daily_partitions

stripe_ingest_job = dg.define_asset_job(
    "stripe_ingest_job", selection=dg.AssetSelection.assets(*RAW_ASSET_KEYS),
    description="Land new Stripe data in the raw tables.",
)


@dg.sensor(
    job=stripe_ingest_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING if os.environ.get("CLOSE_SOURCE") == "data_pipeline" else dg.DefaultSensorStatus.STOPPED,
    description="Lists the Data Pipeline bucket; a run whose SUCCESS marker is newer than the last one seen starts stripe_ingest_job.",
)
def stripe_data_pipeline_delivery(context: dg.SensorEvaluationContext):
    try:
        settings = IngestSettings.from_env(os.environ)
    except ConfigError as error:
        return dg.SkipReason(f"ingestion is not configured: {error}")
    if not settings.uses_data_pipeline:
        return dg.SkipReason(f"CLOSE_SOURCE is {settings.source}, not data_pipeline")
    runs = complete_runs(settings.data_pipeline, settings.data_pipeline.s3_client())
    newest = runs[-1] if runs else None
    if newest is None or newest.run == context.cursor:
        return dg.SkipReason("no new complete Data Pipeline delivery")
    context.update_cursor(newest.run)
    return dg.RunRequest(run_key=newest.run, partition_key=accounting_day(newest.time), tags={"stripe/data_pipeline_run": newest.run})


def accounting_day(moment: datetime) -> str:
    """The daily partition holding `moment` in the reporting time zone (the first one for older moments)."""
    day = moment.astimezone(ZoneInfo(REPORTING_TIMEZONE)).date().isoformat()
    return max(day, daily_partitions.get_first_partition_key())
