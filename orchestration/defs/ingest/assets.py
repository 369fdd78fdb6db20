"""Ingestion assets: Stripe data landed in the warehouse's raw tables."""

from datetime import date, datetime, time, timedelta, timezone

import dagster as dg

from ledger import warehouse as ledger_warehouse
from ledger.sources.stripe_api import Window, ingest
from orchestration.defs.resources import StripeApiResource, WarehouseResource

RAW_TABLE_DESCRIPTIONS = {
    "stripe_balance_transactions": "Every Stripe balance transaction, keyed by id (raw landing).",
    "stripe_fee_details": "The fee breakdown of each balance transaction (raw landing).",
    "stripe_payouts": "Payouts with their latest status (raw landing).",
    "stripe_payout_transactions": "Which balance transactions each automatic payout settled (raw landing).",
    "stripe_balance_snapshots": "Stripe's own balance per currency, captured each run (raw landing).",
}


class IngestWindowConfig(dg.Config):
    """Dates on Stripe's `created` clock (UTC), both inclusive; empty means the last `lookback_days`."""

    start_date: str = ""
    end_date: str = ""
    lookback_days: int = 2

    def window(self, now: datetime) -> Window:
        end_day = date.fromisoformat(self.end_date) if self.end_date else now.date()
        start_day = date.fromisoformat(self.start_date) if self.start_date else end_day - timedelta(days=self.lookback_days)
        midnight = time(tzinfo=timezone.utc)
        return Window(datetime.combine(start_day, midnight), datetime.combine(end_day + timedelta(days=1), midnight))


@dg.multi_asset(
    name="stripe_api_ingest",
    specs=[
        dg.AssetSpec(key=["stripe", table], description=description, group_name="ingest", kinds={"stripe", "duckdb"})
        for table, description in RAW_TABLE_DESCRIPTIONS.items()
    ],
    pool="duckdb",
)
def stripe_api_ingest(context: dg.AssetExecutionContext, config: IngestWindowConfig, stripe: StripeApiResource, warehouse: WarehouseResource):
    """Lists balance transactions, payouts and payout contents for the window with the stripe SDK."""
    window = config.window(datetime.now(timezone.utc))
    context.log.info(f"Ingesting Stripe objects created in [{window.start.isoformat()}, {window.end.isoformat()})")
    with ledger_warehouse.connect(warehouse.file) as connection:
        stats = ingest(stripe.settings(), connection, window)
        row_counts = {table: connection.execute(f"select count(*) from raw.{table}").fetchone()[0] for table in RAW_TABLE_DESCRIPTIONS}
    context.log.info(f"Ingested {stats.balance_transactions} balance transactions and {stats.payouts} payouts in {stats.requests} requests")
    run_figures = {f"run_{name}": value for name, value in stats.as_metadata().items()}
    for table in RAW_TABLE_DESCRIPTIONS:
        yield dg.MaterializeResult(
            asset_key=["stripe", table],
            metadata={"dagster/row_count": row_counts[table], "window_start": window.start.isoformat(), "window_end": window.end.isoformat(), **run_figures},
        )

