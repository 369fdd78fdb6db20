"""`stripe-close export`: write a period's GL export files, or push its entries into the ERP.

Every entity with journal lines in the period is exported, each under its own NetSuite subsidiary
and SAP company code from the seed `entities`; `--entity` narrows the run to one.

Before anything is written or sent, the ledger's proofs run (`dbt test` on the marts, against the
warehouse being exported); when any blocking one fails, the command refuses and names them.
A period without journal lines is refused unless `--allow-empty`: an empty export would look like a
quiet month when nothing may have been loaded or built. With it, the command says that nothing was
exported and succeeds (no file has lines to carry).
Exit codes: 0 done, 1 some entries were not pushed (each named) or the period is empty, 2 bad input
or configuration (or no ledger yet), 3 the ledger's checks failed. Entries the ERP cannot carry
(currency policy) are listed and the run says "exported with exceptions" (exit 0): the other
entries were exported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from exporters.close_package.presentation import display_amount
from exporters.currency_policy import CurrencyException
from exporters.guard import LedgerNotProven, require_proven_ledger
from exporters.period_export import PUSH_TARGETS, TARGETS, export_periods, push_periods
from exporters.settings import ExportSettings
from ledger.config import CloseSettings, ConfigError
from orchestration import progress
from orchestration.cli_args import UserMistake, add_allow_empty, add_command, period
from orchestration.cli_guards import require_journal_lines
from orchestration.wording import counted, files_summary


def register(subcommands: argparse._SubParsersAction) -> None:
    export = add_command(subcommands, "export", "export a period's journal for NetSuite, SAP or accountants, or push it to the ERP",
                         "stripe-close export --period 2026-10 --target sap")
    export.add_argument("--period", type=period, required=True, help="the accounting period, YYYY-MM")
    export.add_argument("--target", choices=TARGETS, default="netsuite", help="which files to write (default netsuite)")
    export.add_argument("--push", action="store_true", help=f"send the entries to the configured ERP instead ({' or '.join(PUSH_TARGETS)})")
    export.add_argument("--entity", help="only this entity (seeds/entities.csv entity_id; default every entity in the period)")
    add_allow_empty(export, "export")
    export.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    close = CloseSettings.from_env()
    try:
        settings = ExportSettings.from_env()
    except ConfigError as error:
        print(str(error), file=sys.stderr)
        return 2
    if args.push and args.target not in PUSH_TARGETS:
        raise UserMistake(f"--push works with --target {' or '.join(PUSH_TARGETS)}")
    if not require_journal_lines(close.warehouse, args.period, args.entity, args.allow_empty, "export"):
        print(f"no journal lines in {args.period}: nothing exported (--allow-empty)")
        return 0
    try:
        require_proven_ledger(close.warehouse)
    except LedgerNotProven as error:
        print(f"refused: {error}", file=sys.stderr)
        return 3
    try:
        if args.push:
            return _push(close.warehouse, settings, args)
        exported = export_periods(close.warehouse, settings, args.target, [args.period], _latest_ledger_run(), args.entity)
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 2
    for period in exported:
        for file in period.files:
            totals = ", ".join(
                f"{currency.upper()} debit {display_amount(t.debit_minor, currency)} credit {display_amount(t.credit_minor, currency)}"
                for currency, t in file.totals.items()
            )
            print(f"{file.path.name}: {counted(file.rows, 'row')}; {totals}")
    for line in files_summary(progress.files_written()):
        print(line)
    _print_exceptions([exception for period in exported for exception in period.exceptions], "exported")
    return 0


def _print_exceptions(exceptions: list[CurrencyException], done: str) -> None:
    """The entries the currency policy changed, then the refused ones and the run's verdict."""
    for exception in exceptions:
        if not exception.refused:
            print(exception.describe())
    refused = [exception for exception in exceptions if exception.refused]
    if refused:
        print(f"{done.capitalize()} with exceptions: {counted(len(refused), 'entry', 'entries')} not {done} (listed in the <target>_export_exceptions file "
              "and manifest.json of the export folder):")
        for exception in refused:
            print(f"  {exception.describe()}")


def _push(warehouse: Path, settings: ExportSettings, args: argparse.Namespace) -> int:
    reports = push_periods(warehouse, settings, args.target, [args.period], args.entity)
    failures = 0
    for report in reports:
        print(f"{report.entity_id} {report.period} to {report.target}:")
        for result in report.results:
            print(result.describe())
        for check in report.verification:
            print(f"{check.external_id}: read-back {'matches' if check.matches else 'DIFFERS: ' + check.detail}")
        failures += len(report.failures)
    _print_exceptions([exception for report in reports for exception in report.exceptions], "pushed")
    if failures:
        print(f"{counted(failures, 'entry', 'entries')} not pushed or not matching; push again to retry (nothing is duplicated)", file=sys.stderr)
        return 1
    return 0


def _latest_ledger_run() -> str | None:
    """The Dagster run that last built the journal, when the close ran on this machine's instance."""
    import dagster as dg

    from orchestration.instance import existing_instance

    instance = existing_instance()
    if instance is None:
        return None
    event = instance.get_latest_materialization_event(dg.AssetKey("fct_journal_lines"))
    return event.run_id if event else None
