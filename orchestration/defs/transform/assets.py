"""The dbt models (staging, intermediate, marts) and their data tests, as Dagster assets and checks."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.defs.resources import WarehouseResource
from orchestration.defs.transform.project import dbt_project
from orchestration.finance_metadata import with_dbt_metadata


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
)
def ledger_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Builds the ledger with `dbt build`: models, seeds, and every data test as an asset check."""
    yield from with_dbt_metadata(context, dbt.cli(["build"], context=context).stream(), warehouse.file)
