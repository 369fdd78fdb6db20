"""Push assets: journal entries into NetSuite (SuiteTalk REST upserts) and SAP (SOAP posts).

They exist only when their ERP is configured in the environment (`NETSUITE_ACCOUNT_ID`,
`SAP_URL`), are guarded like the exports, push every entity in the journal under its own
subsidiary or company code, and fail, after pushing every entry they could, when any entry was not
pushed; the metadata names each such entry and why. An entry the currency policy refuses is never
sent and is no failure: it is listed, and the warning check `every_entry_exported` fails.
"""

import os

import dagster as dg

from exporters.period_export import PushReport, push_periods
from orchestration.defs.export.assets import JOURNAL_LINES, PERIOD_ASSET, ExportConfig, exceptions_check, exceptions_outcome, export_settings
from orchestration.defs.export.guard import require_passing_checks
from orchestration.defs.resources import ExportResource, WarehouseResource
from orchestration import groups


def _push(context: dg.AssetExecutionContext, config: ExportConfig, warehouse: WarehouseResource, exports: ExportResource, target: str) -> dg.MaterializeResult:
    require_passing_checks(context)
    reports = push_periods(warehouse.file, export_settings(exports), target, config.selected(context), config.entity_id)
    exceptions, check = exceptions_outcome(context, [exception for report in reports for exception in report.exceptions])
    metadata = _push_metadata(reports) | exceptions
    failures = [failure for report in reports for failure in report.failures]
    for failure in failures:
        context.log.error(failure)
    if failures:
        raise dg.Failure(description=f"{len(failures)} entr(ies) were not pushed to {target}; the others were. Push again to retry: nothing is duplicated.", metadata=metadata)
    return dg.MaterializeResult(metadata=metadata, check_results=[check])


def _push_metadata(reports: list[PushReport]) -> dict:
    statuses: dict[str, int] = {}
    for report in reports:
        for result in report.results:
            statuses[result.status] = statuses.get(result.status, 0) + 1
    return {
        "entities": dg.MetadataValue.json(sorted({report.entity_id for report in reports})),
        "entries_by_status": dg.MetadataValue.json(statuses),
        "failures": dg.MetadataValue.json([failure for report in reports for failure in report.failures]),
        "verified_by_read_back": sum(check.matches for report in reports for check in report.verification),
    }


def netsuite_journal_push(context: dg.AssetExecutionContext, config: ExportConfig, warehouse: WarehouseResource, exports: ExportResource) -> dg.MaterializeResult:
    """Upserts each period's journal entries into NetSuite over SuiteTalk REST, by external id."""
    return _push(context, config, warehouse, exports, "netsuite")


def sap_journal_push(context: dg.AssetExecutionContext, config: ExportConfig, warehouse: WarehouseResource, exports: ExportResource) -> dg.MaterializeResult:
    """Posts each period's journal entries to SAP with JournalEntryBulkCreateRequest, skipping those already posted."""
    return _push(context, config, warehouse, exports, "sap")


@dg.definitions
def push_assets() -> dg.Definitions:
    """The push assets of the ERPs configured in the environment."""
    assets = []
    if os.environ.get("NETSUITE_ACCOUNT_ID"):
        assets.append(dg.asset(deps=[JOURNAL_LINES], group_name=groups.EXPORTS, kinds={"netsuite"}, pool="duckdb",
                               check_specs=[exceptions_check("netsuite_journal_push")], **PERIOD_ASSET)(netsuite_journal_push))
    if os.environ.get("SAP_URL"):
        assets.append(dg.asset(deps=[JOURNAL_LINES], group_name=groups.EXPORTS, kinds={"sap"}, pool="duckdb",
                               check_specs=[exceptions_check("sap_journal_push")], **PERIOD_ASSET)(sap_journal_push))
    return dg.Definitions(assets=assets)
