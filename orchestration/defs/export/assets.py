"""Export assets: the GL journal for the ERP, per period."""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from exporters.period_export import export_periods
from orchestration.defs.resources import ExportResource, WarehouseResource
from orchestration.defs.transform.assets import ledger_dbt_models


class ExportConfig(dg.Config):
    """Periods (YYYY-MM) to export; empty means every period in the ledger."""

    periods: list[str] = []


@dg.asset(
    deps=[get_asset_key_for_model([ledger_dbt_models], "fct_journal_lines")],
    group_name="export",
    kinds={"netsuite", "csv"},
    pool="duckdb",
)
def netsuite_journal_csv(context: dg.AssetExecutionContext, config: ExportConfig, warehouse: WarehouseResource, exports: ExportResource) -> dg.MaterializeResult:
    """NetSuite CSV import files, one per period, whose totals are proven equal to the ledger's."""
    exported = export_periods(warehouse.file, exports.root, exports.entity_id, config.periods or None)
    totals = {
        f"{file.path.parent.name} {currency.upper()}": {"debit_minor": t.debit_minor, "credit_minor": t.credit_minor}
        for file in exported
        for currency, t in file.totals.items()
    }
    for file in exported:
        context.log.info(f"Wrote {file.rows} lines to {file.path}")
    return dg.MaterializeResult(
        metadata={
            "files": dg.MetadataValue.json([str(file.path) for file in exported]),
            "dagster/row_count": sum(file.rows for file in exported),
            "totals_per_period_and_currency": dg.MetadataValue.json(totals),
        }
    )

