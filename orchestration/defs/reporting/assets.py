"""The close package per period: the trial balance, Stripe roll-forward, bank reconciliation,
exceptions and charts as one HTML file and one XLSX workbook (see docs/close_package.md)."""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from orchestration.defs.export.assets import export_settings
from orchestration.defs.resources import ExportResource, WarehouseResource
from orchestration.defs.transform.assets import ledger_dbt_models
from orchestration.finance_metadata import file_link
from orchestration.partitions import monthly_partitions
from exporters.close_package.close_data import CloseDataError
from exporters.close_package.package import ClosePackage, build_close_package
from exporters.close_package.presentation import display_amount

PACKAGE_MODELS = (
    "fct_journal_lines", "fct_journal_line_sources", "rpt_trial_balance", "rpt_stripe_balance_rollforward",
    "fct_payout_bank_matches", "fct_payout_bank_returns", "fct_reconciliation_exceptions",
)


@dg.asset(
    partitions_def=monthly_partitions,
    deps=[get_asset_key_for_model([ledger_dbt_models], model) for model in PACKAGE_MODELS],
    group_name="close",
    kinds={"html", "excel"},
    pool="duckdb",
    # Like the exports: a range of months (a backfill) is one run writing one package per month.
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def close_package(context: dg.AssetExecutionContext, warehouse: WarehouseResource, exports: ExportResource) -> dg.MaterializeResult:
    """The period's close package (HTML and XLSX): trial balance, Stripe balance roll-forward,
    bank reconciliation, exceptions, and charts, in `<exports>/<entity>/<period>/close_package/`."""
    settings = export_settings(exports)
    try:
        packages = [
            build_close_package(warehouse.file, settings.destination, exports.entity_id, period, context.run_id)
            for period in context.partition_keys
        ]
    except CloseDataError as error:
        raise dg.Failure(description=str(error)) from error
    if len(packages) == 1:
        return dg.MaterializeResult(metadata=package_metadata(packages[0]))
    return dg.MaterializeResult(metadata={
        f"{package.data.period} {name}": value for package in packages for name, value in package_metadata(package).items()
    })


def package_metadata(package: ClosePackage) -> dict:
    """Links to the files and the headline figures: Stripe ending balance, payouts matched and unmatched, open exceptions."""
    data = package.data
    metadata: dict = {"html": file_link(package.html), "workbook": file_link(package.workbook), "exceptions": len(data.exceptions)}
    headline = ["| Currency | Stripe ending balance | Payouts matched | Unmatched payouts | Unmatched amount |", "|---|---:|---:|---:|---:|"]
    for figures in data.headline():
        currency = figures.currency
        metadata |= {
            f"{currency}_stripe_ending_balance_minor": figures.stripe_ending_balance_minor,
            f"{currency}_payouts_matched": figures.payouts_matched,
            f"{currency}_unmatched_payouts": figures.unmatched_payouts,
            f"{currency}_unmatched_payouts_minor": figures.unmatched_payouts_minor,
        }
        headline.append(
            f"| {currency.upper()} | {display_amount(figures.stripe_ending_balance_minor, currency)} | {figures.payouts_matched} "
            f"| {figures.unmatched_payouts} | {display_amount(figures.unmatched_payouts_minor, currency)} |"
        )
    metadata["headline"] = dg.MetadataValue.md("\n".join(headline))
    return metadata
