"""The close package per period and entity: the trial balance, Stripe roll-forward, bank
reconciliation, exceptions and charts as one HTML file and one XLSX workbook (see docs/close_package.md).

A run covers every entity with journal lines through its months, as the exports do;
`ClosePackageConfig.entity_id` narrows it to one.
"""

from pathlib import Path

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from ledger.config import CloseSettings
from orchestration.defs.export.assets import export_settings
from orchestration.defs.export.guard import blocking_proof_results
from orchestration.defs.resources import ExportResource, WarehouseResource
from orchestration.defs.transform.assets import ledger_dbt_models
from orchestration.finance_metadata import file_link
from orchestration.partitions import monthly_partitions
from orchestration import groups
from exporters.close_package.close_data import CloseDataError
from exporters.close_package.package import ClosePackage, build_close_packages
from exporters.close_package.presentation import display_amount
from exporters.entities import EntityConfigError

PACKAGE_MODELS = (
    "fct_journal_lines", "fct_journal_line_sources", "fct_journal_lines_translated", "fct_fx_revaluation_lines", "rpt_trial_balance",
    "rpt_stripe_balance_rollforward", "fct_payout_bank_matches", "fct_payout_bank_returns", "fct_reconciliation_exceptions",
    "rpt_suspense_postings",
)
BANK_RECONCILIATION_CHECK = "bank_reconciliation_performed"


class ClosePackageConfig(dg.Config):
    """entity_id: only this entity's package (seed `entities`); none means every entity with journal lines through the month."""

    entity_id: str | None = None


@dg.asset(
    partitions_def=monthly_partitions,
    deps=[get_asset_key_for_model([ledger_dbt_models], model) for model in PACKAGE_MODELS],
    group_name=groups.CLOSE_PACKAGE,
    kinds={"html", "excel"},
    pool="duckdb",
    # Like the exports: a range of months (a backfill) is one run writing one package per entity and month.
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[dg.AssetCheckSpec(
        BANK_RECONCILIATION_CHECK, asset="close_package",
        description="Every currency with payouts due at the bank in the month has bank statement lines booked in it, so its "
        "payouts were compared with the bank. When it fails, the package's bank figures for those currencies are NOT a "
        "reconciliation: load the statements (stripe-close bank load, or the bank inbox) and build the package again.",
    )],
)
def close_package(
    context: dg.AssetExecutionContext, config: ClosePackageConfig, warehouse: WarehouseResource, exports: ExportResource
) -> dg.MaterializeResult:
    """Each entity's close package for the month (HTML and XLSX): trial balance, Stripe balance
    roll-forward, bank reconciliation of its own payouts, exceptions, and charts, in
    `<exports>/<entity>/<period>/close_package/`."""
    settings = export_settings(exports)
    try:
        packages = build_close_packages(
            warehouse.file, settings.destination, list(context.partition_keys), exports.entity_id, config.entity_id, context.run_id,
            proofs=blocking_proof_results(context.instance), reporting_timezone=CloseSettings.from_env().reporting_timezone,
        )
    except (CloseDataError, EntityConfigError) as error:
        raise dg.Failure(description=str(error)) from error
    metadata = packages_metadata(packages, len(context.partition_keys) > 1, settings.destination.directory)
    return dg.MaterializeResult(metadata=metadata, check_results=[bank_reconciliation_check(packages)])


def bank_reconciliation_check(packages: list[ClosePackage]) -> dg.AssetCheckResult:
    """Fails (warning) naming each entity and month whose payouts had no statements to be matched to."""
    missing = [f"{package.data.entity_id} {package.data.period}: {package.data.bank_coverage.describe()}"
               for package in packages if not package.data.bank_coverage.performed]
    return dg.AssetCheckResult(
        check_name=BANK_RECONCILIATION_CHECK, passed=not missing, severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(missing) if missing else "statements loaded for every currency with payouts due at the bank",
        metadata={"not_performed": dg.MetadataValue.md("\n".join(f"- {line}" for line in missing) or "none")},
    )


def packages_metadata(packages: list[ClosePackage], several_periods: bool, exports_root: Path | None) -> dict:
    """Per entity (and month, for a range): links to the files and the headline figures (Stripe ending
    balance, payouts matched and unmatched, open exceptions); one headline table over all of them."""
    metadata: dict = {"entities": dg.MetadataValue.json(sorted({package.data.entity_id for package in packages}))}
    headline = [
        "| Entity | Period | Currency | Stripe ending balance | Payouts matched | Unmatched payouts | Unmatched amount |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for package in packages:
        data = package.data
        prefix = f"{data.entity_id} {data.period}" if several_periods else data.entity_id
        metadata |= {f"{prefix} html": file_link(package.html, exports_root), f"{prefix} workbook": file_link(package.workbook, exports_root),
                     f"{prefix} exceptions": len(data.exceptions), f"{prefix} bank_reconciliation": data.bank_coverage.describe() or "performed"}
        if package.frozen:
            metadata[f"{prefix} locked"] = package.frozen.describe()
        for figures in data.headline():
            currency = figures.currency
            if not figures.bank_reconciled:
                # Zero matched and zero unmatched would read as a clean reconciliation: say it was not done.
                metadata[f"{prefix} {currency}_stripe_ending_balance_minor"] = figures.stripe_ending_balance_minor
                headline.append(f"| {data.entity_id} | {data.period} | {currency.upper()} | {display_amount(figures.stripe_ending_balance_minor, currency)} "
                                "| NOT performed: no statements | | |")
                continue
            metadata |= {
                f"{prefix} {currency}_stripe_ending_balance_minor": figures.stripe_ending_balance_minor,
                f"{prefix} {currency}_payouts_matched": figures.payouts_matched,
                f"{prefix} {currency}_unmatched_payouts": figures.unmatched_payouts,
                f"{prefix} {currency}_unmatched_payouts_minor": figures.unmatched_payouts_minor,
            }
            headline.append(
                f"| {data.entity_id} | {data.period} | {currency.upper()} | {display_amount(figures.stripe_ending_balance_minor, currency)} "
                f"| {figures.payouts_matched} | {figures.unmatched_payouts} | {display_amount(figures.unmatched_payouts_minor, currency)} |"
            )
    metadata["headline"] = dg.MetadataValue.md("\n".join(headline))
    return metadata
