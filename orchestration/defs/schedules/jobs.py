"""The jobs the schedules start: the ledger for some days, and the exports for some months.

`ledger_close_job` lands Stripe data, loads the accounting configuration (the unpartitioned seeds,
as the seed files are now) and builds the ledger with every proof (dbt tests and the GX checks,
blocking) for its days; `period_export_job` writes and pushes the exports of its months and their close packages.
Both run one partition or a range of them in a single run (the assets' single-run backfill policy).
Both run their steps in the run's own process: every step writes DuckDB (pool `duckdb`), so they
run one after the other anyway, and a process per step would only pay Dagster's and dbt's start-up
again for each.
"""

import dagster as dg

from orchestration.defs.ingest.assets import RAW_ASSET_KEYS
from orchestration.defs.transform.assets import accounting_config_seeds, ledger_dbt_models
from orchestration.partitions import daily_partitions, monthly_partitions
from orchestration import groups

ledger_close_job = dg.define_asset_job(
    "ledger_close_job",
    # The seeds are not partitioned: each run loads them (before the models, which read them) beside its days.
    selection=dg.AssetSelection.assets(*RAW_ASSET_KEYS) | dg.AssetSelection.assets(accounting_config_seeds, ledger_dbt_models),
    partitions_def=daily_partitions,
    executor_def=dg.in_process_executor,
    description="Ingest Stripe and build the ledger with every proof, for the days of the run.",
)

period_export_job = dg.define_asset_job(
    "period_export_job",
    selection=dg.AssetSelection.groups(groups.EXPORTS) | dg.AssetSelection.assets("close_package", "close_status"),
    partitions_def=monthly_partitions,
    executor_def=dg.in_process_executor,
    description="Write (and, where configured, push) the GL exports and the close package of the months of the run.",
)
