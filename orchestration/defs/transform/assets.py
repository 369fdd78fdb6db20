"""The dbt models (staging, intermediate, marts) and their data tests, as Dagster assets and checks.

Daily-partitioned like ingestion: a run for some days passes their window to dbt as the vars
`close_window_start` / `close_window_end` (YYYY-MM-DD accounting days, end exclusive), which the
incremental models use to rebuild only those days; without a partition no vars are passed and
every model builds in full.
"""

import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.defs.resources import WarehouseResource
from orchestration.defs.transform.project import dbt_project
from orchestration.finance_metadata import with_dbt_metadata
from orchestration.partitions import daily_partitions


class LedgerTranslator(DagsterDbtTranslator):
    """Groups dbt nodes by the folder they live in: staging, intermediate, marts, seeds."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "accounting_config"
        folder = dbt_resource_props.get("fqn", ["", "ledger"])[1]
        return {"staging": "staging", "intermediate": "ledger", "marts": "ledger"}.get(folder, "ledger")


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=LedgerTranslator(),
    pool="duckdb",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def ledger_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Builds the ledger with `dbt build`: models, seeds, and every data test as an asset check."""
    yield from with_dbt_metadata(context, dbt.cli(["build", *window_vars(context)], context=context).stream(), warehouse.file)


def window_vars(context: dg.AssetExecutionContext) -> list[str]:
    """`--vars` with the run's accounting days, or nothing for a run without a partition."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return []
    window = context.partition_time_window
    return ["--vars", json.dumps({"close_window_start": f"{window.start:%Y-%m-%d}", "close_window_end": f"{window.end:%Y-%m-%d}"})]
