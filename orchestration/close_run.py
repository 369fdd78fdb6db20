"""One whole close, in process: ingest a window, build the ledger with dbt, export the periods.

This is what `stripe-close demo` and `stripe-close run` execute: real Dagster materializations of
every asset on whatever instance the caller passes, in two runs as a backfill of the window would
make them: the window's accounting days (ingestion, bank statements, the ledger; one run over the
day range), then its months (the exports; one run over the month range). Partitioned runs, not
unpartitioned ones, so the UI shows the closed days and months, and the ledger builds with the
same window vars as a scheduled run.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb

from ledger.bank_coverage import BankCoverage, bank_coverage
from ledger.config import CloseSettings
from ledger.periods import periods_between
from ledger.warehouse_lock import claim_warehouse
from orchestration import run_log
from orchestration.dead_runs import process_tags, release_dead_runs, wait_for_pool
from orchestration.partition_runs import day_range, month_range, range_tags
from orchestration.step_failures import step_failure_message


class CloseFailed(RuntimeError):
    """A step of the close failed; the message names it and Dagster's error."""


@dataclass(frozen=True)
class TrialBalanceRow:
    currency: str
    account_code: str
    account_name: str
    balance_minor: int


@dataclass(frozen=True)
class CloseResult:
    run_id: str
    export_run_id: str
    balance_transactions: int
    payouts: int
    journal_entries: int
    journal_lines: int
    trial_balance: tuple[TrialBalanceRow, ...]
    export_files: tuple[Path, ...]
    failed_checks: tuple[str, ...]
    # (check, what it says) for each check that warned: severity WARN, blocking nothing.
    warnings: tuple[tuple[str, str], ...]
    passed_checks: tuple[str, ...]
    payouts_matched: int
    exceptions: dict[str, int]
    # Of the window's periods: the currencies whose payouts had no bank statement to be matched to.
    bank_coverage: BankCoverage
    # Entries an ERP export refused (currency policy), as the export assets' metadata lists them.
    export_exceptions: tuple[dict, ...] = ()


def run_close(settings: CloseSettings, start: date, end: date, instance: dg.DagsterInstance) -> CloseResult:
    """Materialize every asset for the accounting days [start, end] and their months."""
    # dbt runs as a subprocess and reads the same settings from the environment.
    os.environ.update(settings.process_environment())
    os.environ["STRIPE_API_KEY"] = settings.stripe_api_key
    from orchestration.definitions import defs
    from orchestration.partitions import monthly_partitions

    definitions = defs()
    periods = periods_between(start, end)
    days, months = day_range(start, end), month_range(periods[0], periods[-1])
    monthly = [asset for asset in definitions.assets or [] if asset.partitions_def == monthly_partitions]
    daily = [asset for asset in definitions.assets or [] if asset.partitions_def != monthly_partitions]
    with claim_warehouse(settings.warehouse):
        prepare_instance(instance)
        # The standalone checks (GX suites, accounting configuration) are not part of any asset: without
        # them the ledger run would evaluate the dbt tests only, and the exports' guard would refuse.
        ledger = _materialize([*daily, *(definitions.asset_checks or [])], days, instance, definitions)
        exports = _materialize(monthly, months, instance, definitions)
    evaluations = [evaluation for result in (ledger, exports) for evaluation in result.get_asset_check_evaluations()]
    checks = Checks(
        failed=tuple(e.check_name for e in evaluations if not e.passed and e.severity != dg.AssetCheckSeverity.WARN),
        warnings=tuple((e.check_name, e.description or "") for e in evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.WARN),
        passed=tuple(e.check_name for e in evaluations if e.passed),
    )
    export_files = tuple(
        Path(path)
        for materialization in exports.asset_materializations_for_node("netsuite_journal_csv")
        for path in materialization.metadata["files"].value
    )
    export_exceptions = tuple(
        exception
        for event in exports.get_asset_materialization_events()
        if "export_exceptions" in event.materialization.metadata
        for exception in event.materialization.metadata["export_exceptions"].value
    )
    return dataclasses.replace(
        _summarize(settings.warehouse, periods, ledger.run_id, exports.run_id, export_files, checks), export_exceptions=export_exceptions,
    )


def prepare_instance(instance: dg.DagsterInstance) -> None:
    """Before a run in this process: fail the runs whose process died, freeing their pool slots,
    and wait (sleeping) while a live run elsewhere holds the pool. Call it holding the warehouse."""
    # Said to the user even while the run's logs go to the command's log file.
    release_dead_runs(instance, run_log.tell)
    wait_for_pool(instance, run_log.tell)


def _materialize(assets: list, keys: dg.PartitionKeyRange, instance: dg.DagsterInstance, definitions: dg.Definitions) -> dg.ExecuteInProcessResult:
    run_config = {"loggers": {"console": {"config": {"log_level": run_log.dagster_level()}}}}
    result = dg.materialize(
        assets, instance=instance, resources=definitions.resources, run_config=run_config,
        tags={**range_tags(keys), **process_tags()}, raise_on_error=False,
    )
    if not result.success:
        failures = [
            f"{event.step_key}: {step_failure_message(event)}"
            for event in result.all_events
            if event.is_step_failure
        ]
        raise CloseFailed(f"the close of {keys.start}..{keys.end} failed at " + "; ".join(failures or ["an unknown step"]))
    return result


@dataclass(frozen=True)
class Checks:
    failed: tuple[str, ...]
    warnings: tuple[tuple[str, str], ...]
    passed: tuple[str, ...]


def _summarize(warehouse: Path, periods: list[str], run_id: str, export_run_id: str, export_files: tuple[Path, ...], checks: Checks) -> CloseResult:
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        transactions, payouts = connection.execute(
            "select (select count(*) from raw.stripe_balance_transactions), (select count(*) from raw.stripe_payouts)"
        ).fetchone()
        entries, lines = connection.execute(
            "select count(distinct journal_entry_id), count(*) from main.fct_journal_lines"
        ).fetchone()
        trial_balance = tuple(
            TrialBalanceRow(*row)
            for row in connection.execute(
                "select currency, account_code, account_name, balance_minor from main.rpt_trial_balance "
                "where balance_minor <> 0 order by currency, account_code"
            ).fetchall()
        )
        (payouts_matched,) = connection.execute("select count(distinct payout_id) from main.fct_payout_bank_matches").fetchone()
        exceptions = dict(connection.execute(
            "select exception_type, count(*) from main.fct_reconciliation_exceptions group by all order by all"
        ).fetchall())
        coverage = bank_coverage(connection, periods)
    finally:
        connection.close()
    return CloseResult(
        run_id, export_run_id, transactions, payouts, entries, lines, trial_balance, export_files, checks.failed, checks.warnings, checks.passed,
        payouts_matched, exceptions, coverage,
    )
