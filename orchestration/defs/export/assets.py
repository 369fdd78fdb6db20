"""Export assets: the GL journal per period for NetSuite, SAP and accountants (pushes: `push.py`).

Every asset first asks the guard (`guard.py`) whether the ledger's blocking checks passed, reads
the warehouse read-only (pool `duckdb`), and publishes each entity's period into
`<exports>/<entity>/<period>/` or under `CLOSE_EXPORT_S3_URI`, with presigned download links in the
metadata on S3. A run covers every entity in the journal, each under its own NetSuite subsidiary
and SAP company code from the seed `entities`; `ExportConfig.entity_id` narrows it to one.

Monthly-partitioned: a partition key is a period (YYYY-MM), and a month reads the daily ledger
partitions of its days. A run without a partition exports `ExportConfig.periods`.

An entry the ERP cannot carry (a three-decimal currency in NetSuite, policy `refuse`) does not fail
the asset: the others are exported, the metadata lists it (`export_exceptions`) and the warning
check `every_entry_exported` fails, naming entity, entry, currency and reason.
"""

import dataclasses
from pathlib import Path

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from exporters.currency_policy import CurrencyException
from exporters.period_export import PeriodExport, export_periods
from exporters.publish import Destination
from exporters.settings import ExportSettings
from orchestration.defs.export.guard import require_passing_checks
from orchestration.defs.resources import ExportResource, WarehouseResource
from orchestration.defs.transform.assets import ledger_dbt_models
from orchestration.finance_metadata import file_link, money_text
from orchestration.partitions import monthly_partitions
from orchestration import groups

JOURNAL_LINES = get_asset_key_for_model([ledger_dbt_models], "fct_journal_lines")
JOURNAL_SOURCES = get_asset_key_for_model([ledger_dbt_models], "fct_journal_line_sources")


class ExportConfig(dg.Config):
    """periods: for a run without a partition, the periods (YYYY-MM) to export; empty means every period in the ledger.
    entity_id: only this entity (seed `entities`); none means every entity with journal lines in the periods."""

    periods: list[str] = []
    entity_id: str | None = None

    def selected(self, context: dg.AssetExecutionContext) -> list[str] | None:
        """The run's months (its partition keys are periods), else the configured ones, else None (all)."""
        if context.has_partition_key or context.has_partition_key_range:
            return list(context.partition_keys)
        return self.periods or None


# One run over a range of months: the exporters write each period of it.
PERIOD_ASSET = {"partitions_def": monthly_partitions, "backfill_policy": dg.BackfillPolicy.single_run()}


def export_settings(exports: ExportResource) -> ExportSettings:
    """Settings from the environment, with the folder of the `exports` resource."""
    settings = ExportSettings.from_env()
    destination = settings.destination if settings.destination.s3_uri else Destination(directory=exports.root)
    return dataclasses.replace(settings, destination=destination)


EXPORT_EXCEPTIONS_CHECK = "every_entry_exported"


def exceptions_check(asset: str) -> dg.AssetCheckSpec:
    """A warning, never blocking: the other entries were exported, and an accountant acts on the refused ones."""
    return dg.AssetCheckSpec(
        EXPORT_EXCEPTIONS_CHECK, asset=asset, blocking=False,
        description="Every journal entry reached the ERP; fails (warning) naming each entry refused for a currency the ERP cannot carry "
                    "(docs/exports.md, currency policy).",
    )


def exceptions_outcome(context: dg.AssetExecutionContext, exceptions: list[CurrencyException]) -> tuple[dict, dg.AssetCheckResult]:
    """The metadata and the warning check of the entries the currency policy refused or changed."""
    refused = [exception for exception in exceptions if exception.refused]
    for exception in refused:
        context.log.warning(f"not exported: {exception.describe()}")
    metadata = {
        "export_exceptions": dg.MetadataValue.json([exception.as_dict() for exception in refused]),
        "export_exceptions_count": len(refused),
        "entries_changed_by_currency_policy": dg.MetadataValue.json([exception.as_dict() for exception in exceptions if not exception.refused]),
    }
    check = dg.AssetCheckResult(
        check_name=EXPORT_EXCEPTIONS_CHECK, passed=not refused, severity=dg.AssetCheckSeverity.WARN,
        metadata={"refused_entries": len(refused), "refused": dg.MetadataValue.json([exception.describe() for exception in refused])},
    )
    return metadata, check


def _latest_ledger_run(context: dg.AssetExecutionContext) -> str | None:
    event = context.instance.get_latest_materialization_event(JOURNAL_LINES)
    return event.run_id if event else None


def _export(context: dg.AssetExecutionContext, config: ExportConfig, warehouse: WarehouseResource, exports: ExportResource, target: str) -> dg.MaterializeResult:
    require_passing_checks(context)
    settings = export_settings(exports)
    exported = export_periods(warehouse.file, settings, target, config.selected(context), _latest_ledger_run(context), config.entity_id)
    if target == "generic":
        return dg.MaterializeResult(metadata=_export_metadata(exported, settings.destination.directory))
    metadata, check = exceptions_outcome(context, [exception for period in exported for exception in period.exceptions])
    return dg.MaterializeResult(metadata=_export_metadata(exported, settings.destination.directory) | metadata, check_results=[check])


def _export_metadata(exported: list[PeriodExport], exports_root: Path | None) -> dict:
    """The files (as links), rows and totals per file and currency in major units, for a finance person."""
    totals = ["| File | Currency | Debits | Credits |", "|---|---|---:|---:|"] + [
        f"| {file.path.name} | {currency.upper()} | {money_text(figures.debit_minor, currency)} | {money_text(figures.credit_minor, currency)} |"
        for period in exported for file in period.files for currency, figures in sorted(file.totals.items())
    ]
    metadata = {
        "files": dg.MetadataValue.json([published.location for period in exported for published in period.published if published.name != "manifest.json"]),
        "manifests": dg.MetadataValue.json([published.location for period in exported for published in period.published if published.name == "manifest.json"]),
        "dagster/row_count": sum(file.rows for period in exported for file in period.files),
        "entities": dg.MetadataValue.json(sorted({period.entity_id for period in exported})),
        "totals_per_file_and_currency": dg.MetadataValue.md("\n".join(totals)),
    }
    for period in exported:
        for published in period.published:
            link = file_link(published, exports_root)
            metadata[f"{'download' if isinstance(link, dg.UrlMetadataValue) else 'file'} {period.entity_id}/{period.period}/{published.name}"] = link
    return metadata


@dg.asset(deps=[JOURNAL_LINES], group_name=groups.EXPORTS, kinds={"netsuite", "csv"}, pool="duckdb", check_specs=[exceptions_check("netsuite_journal_csv")], **PERIOD_ASSET)
def netsuite_journal_csv(context: dg.AssetExecutionContext, config: ExportConfig, warehouse: WarehouseResource, exports: ExportResource) -> dg.MaterializeResult:
    """NetSuite CSV import files, one per period, whose totals are proven equal to the ledger's; entries in a currency NetSuite cannot carry follow NETSUITE_CURRENCY_POLICY."""
    return _export(context, config, warehouse, exports, "netsuite")


@dg.asset(deps=[JOURNAL_LINES], group_name=groups.EXPORTS, kinds={"sap", "csv", "xml"}, pool="duckdb", check_specs=[exceptions_check("sap_journal_files")], **PERIOD_ASSET)
def sap_journal_files(context: dg.AssetExecutionContext, config: ExportConfig, warehouse: WarehouseResource, exports: ExportResource) -> dg.MaterializeResult:
    """SAP "Upload General Journal Entries" templates (comma CSV, semicolon CSV, XLSX) and the JournalEntryBulkCreateRequest XML, per period."""
    return _export(context, config, warehouse, exports, "sap")


@dg.asset(deps=[JOURNAL_LINES, JOURNAL_SOURCES], group_name=groups.EXPORTS, kinds={"csv", "excel"}, pool="duckdb", **PERIOD_ASSET)
def accountant_journal(context: dg.AssetExecutionContext, config: ExportConfig, warehouse: WarehouseResource, exports: ExportResource) -> dg.MaterializeResult:
    """The journal for accountants, CSV and XLSX, with a drill-down sheet down to balance transaction ids."""
    return _export(context, config, warehouse, exports, "generic")
