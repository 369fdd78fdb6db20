"""Start an ingestion run when Stripe Data Pipeline finishes a delivery (a new SUCCESS marker)."""

import os

import dagster as dg

from ledger.config import ConfigError
from ledger.sources.data_pipeline import complete_runs
from ledger.sources.ingest_settings import IngestSettings
from orchestration.defs.ingest.assets import RAW_ASSET_KEYS

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
    newest = runs[-1].run if runs else None
    if newest is None or newest == context.cursor:
        return dg.SkipReason("no new complete Data Pipeline delivery")
    context.update_cursor(newest)
    return dg.RunRequest(run_key=newest, tags={"stripe/data_pipeline_run": newest})
