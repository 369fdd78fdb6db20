"""The period status: one monthly asset whose metadata tells a controller, in words, whether the
month is proven (each blocking proof), locked (by whom, when), reconciled with the bank (matched,
in transit, unmatched with age, or not performed), and links to download its close package and
every export file. It reads; it builds nothing, so it runs last, after the exports and the package.
"""

import dagster as dg

from ledger.period_close import PeriodCloseError
from orchestration.defs.export.assets import accountant_journal, export_settings, netsuite_journal_csv, sap_journal_files
from orchestration.defs.export.guard import proof_descriptions, proof_verdicts
from orchestration.defs.reporting.assets import close_package
from orchestration.defs.resources import ExportResource, WarehouseResource
from orchestration.downloads import download_base
from orchestration.partitions import monthly_partitions
from orchestration.period_status import read_period_status, status_metadata
from orchestration import groups


@dg.asset(
    partitions_def=monthly_partitions,
    deps=[close_package, netsuite_journal_csv, sap_journal_files, accountant_journal],
    group_name=groups.CLOSE_PACKAGE,
    kinds={"duckdb"},
    pool="duckdb",
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def close_status(context: dg.AssetExecutionContext, warehouse: WarehouseResource, exports: ExportResource) -> dg.MaterializeResult:
    """Is the month proven, locked and reconciled? In words, with links to download its close
    package and every export file. Materialize it (or period_export_job) to refresh it after a lock."""
    periods = context.partition_keys
    proofs, destination = proof_verdicts(context.instance), export_settings(exports).destination
    metadata = {}
    for period in periods:
        try:
            status = read_period_status(period, proofs, proof_descriptions(), warehouse.file, destination, download_base())
        except PeriodCloseError as error:  # no ledger yet: say what to run, not a traceback
            raise dg.Failure(description=str(error)) from None
        # A range of months (a backfill, `stripe-close run`) is one materialization: each month's entries named for it.
        metadata |= {(f"{period} {name}" if len(periods) > 1 else name): value for name, value in status_metadata(status).items()}
    return dg.MaterializeResult(metadata=metadata)
