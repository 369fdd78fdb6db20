"""Ingestion assets: Stripe data (API or Data Pipeline exports) landed in the warehouse's raw tables."""

import os
from datetime import date, datetime, time, timedelta, timezone

import dagster as dg

from ledger import warehouse as ledger_warehouse
from ledger.config import ConfigError
from ledger.sources.data_pipeline import DataPipelineError
from ledger.sources.ingest_settings import IngestSettings
from ledger.sources import source_tables
from ledger.sources.ingestion import run_ingestion
from ledger.sources.stripe_http import StripeRequestFailed
from orchestration.defs.resources import StripeApiResource, WarehouseResource
from orchestration.finance_metadata import table_metadata
from orchestration.partitions import daily_partitions
from orchestration import groups

RAW_TABLE_DESCRIPTIONS = {
    "stripe_balance_transactions": "Every Stripe balance transaction, keyed by id (raw landing).",
    "stripe_fee_details": "The fee breakdown of each balance transaction (raw landing).",
    "stripe_payouts": "Payouts with their latest status, and why a payout cannot be itemized (raw landing).",
    "stripe_payout_transactions": "Which balance transactions each automatic payout settled (raw landing).",
    "stripe_balance_snapshots": "Stripe's own balance per currency, captured each run (raw landing).",
    # The source objects behind the balance transactions (ledger/sources/source_tables.py).
    **{table.name: f"Stripe {table.name.removeprefix('stripe_').replace('_', ' ')}: source objects behind the balance transactions "
       "(raw landing; personal data only as CLOSE_PERSONAL_DATA_ALLOWLIST allows)." for table in source_tables.TABLES},
}
RAW_ASSET_KEYS = [dg.AssetKey(["stripe", table]) for table in RAW_TABLE_DESCRIPTIONS]
MIDNIGHT_UTC = time(tzinfo=timezone.utc)


class IngestWindowConfig(dg.Config):
    """For a run without a partition: dates on Stripe's `created` clock (UTC), both inclusive. Empty
    start: continue from the stream cursors (minus the overlap), or on a first run the last
    `first_run_days`. Empty end: now. A partitioned run reads its days' window instead.
    The Data Pipeline source ignores the window: each delivery is a full copy."""

    start_date: str = ""
    end_date: str = ""
    # A first run must read the whole history for the balance proofs to hold: set
    # CLOSE_INGEST_FIRST_RUN_DAYS to cover it (the sandbox UI does), or backfill with start_date.
    first_run_days: int = int(os.environ.get("CLOSE_INGEST_FIRST_RUN_DAYS", "2"))

    def start(self) -> datetime | None:
        return datetime.combine(date.fromisoformat(self.start_date), MIDNIGHT_UTC) if self.start_date else None

    def end(self) -> datetime | None:
        return datetime.combine(date.fromisoformat(self.end_date) + timedelta(days=1), MIDNIGHT_UTC) if self.end_date else None


@dg.multi_asset(
    name="stripe_ingest",
    specs=[
        dg.AssetSpec(key=key, description=RAW_TABLE_DESCRIPTIONS[key.path[-1]], group_name=groups.SOURCES, kinds={"stripe", "duckdb"})
        for key in RAW_ASSET_KEYS
    ],
    pool="duckdb",
    partitions_def=daily_partitions,
    # A range of days (a backfill) is one run over one `created` window, not a run per day.
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def stripe_ingest(context: dg.AssetExecutionContext, config: IngestWindowConfig, stripe: StripeApiResource, warehouse: WarehouseResource):
    """Lands new Stripe data: from the API (time slices in parallel, incremental by cursor) or from
    the newest complete Stripe Data Pipeline delivery on S3, as CLOSE_SOURCE says."""
    try:
        settings = IngestSettings.from_env(os.environ).with_api(stripe.settings())
        with ledger_warehouse.connect(warehouse.file) as connection:
            start, end = _window(context, config)
            outcome = run_ingestion(settings, connection, start, end, config.first_run_days)
            figures = {table: table_metadata(connection, "raw", table) for table in RAW_TABLE_DESCRIPTIONS}
    except (ConfigError, DataPipelineError, StripeRequestFailed) as error:
        # What to fix, as the step's failure message, without a stack trace around it.
        raise dg.Failure(description=str(error)) from error
    context.log.info(outcome.summary)
    for warning in outcome.warnings:
        context.log.warning(warning)
    run_figures = {
        f"run_{name}": dg.MetadataValue.json(value) if isinstance(value, list) else value
        for name, value in outcome.metadata.items()
    }
    for key in RAW_ASSET_KEYS:
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={**figures[key.path[-1]], "source": outcome.source, **run_figures},
        )


def _window(context: dg.AssetExecutionContext, config: IngestWindowConfig) -> tuple[datetime | None, datetime | None]:
    """The `created` window: the partition's days (in the reporting time zone) or, unpartitioned, the config's."""
    if context.has_partition_key or context.has_partition_key_range:
        window = context.partition_time_window
        return window.start.astimezone(timezone.utc), window.end.astimezone(timezone.utc)
    return config.start(), config.end()
