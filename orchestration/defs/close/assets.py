"""The period-close tables the ledger reads (dbt sources `close.*`), as assets that report the locks.

Materializing them records which months are locked, by whom and how many frozen lines each has;
changing the locks is `period_close_job` (or `stripe-close close` / `reopen`), never a plain
materialization.
"""

import dagster as dg

from ledger import period_close
from orchestration.defs.resources import WarehouseResource
from orchestration import groups

CLOSE_TABLES = ("period_locks", *period_close.LOCKED_TABLES)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            dg.AssetKey(["close", table]), group_name=groups.SOURCES, kinds={"duckdb"},
            description=f"close.{table}: written by period_close_job (stripe-close close / reopen)",
        )
        for table in CLOSE_TABLES
    ],
    pool="duckdb",
)
def period_locks(warehouse: WarehouseResource):
    """Reports the period locks as they stand (the tables are created by dbt, changed by period_close_job)."""
    locks = period_close.lock_states(warehouse.file)
    metadata = {
        "locked_periods": dg.MetadataValue.json([lock.period for lock in locks]),
        "locks": dg.MetadataValue.json([
            {"period": lock.period, "locked_at": lock.locked_at.isoformat(), "locked_by": lock.locked_by,
             "journal_lines": lock.journal_lines, "source_rows": lock.source_rows}
            for lock in locks
        ]),
    }
    for table in CLOSE_TABLES:
        yield dg.MaterializeResult(asset_key=dg.AssetKey(["close", table]), metadata=metadata)
