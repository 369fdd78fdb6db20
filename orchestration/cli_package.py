"""`stripe-close package --period YYYY-MM`: write a period's close packages (HTML and XLSX) from the warehouse.

One package per entity with journal lines through the period (seeds/entities.csv), each with the
bank reconciliation of its own Stripe accounts' payouts; `--entity` narrows the run to one. They go
where the exports go (CLOSE_EXPORT_DIR or CLOSE_EXPORT_S3_URI), under `<entity>/<period>/close_package/`.
A locked period's package is rendered from the figures frozen with its lock, and says so in one line.
A period without journal lines is refused (exit 1) unless `--allow-empty`: its package would
read as a quiet month when nothing may have been loaded or built.
Exit codes: 0 written, 1 refused (an empty period), 2 bad input or configuration (or no ledger yet).
"""

from __future__ import annotations

import argparse
import sys

from exporters.entities import EntityConfigError
from exporters.settings import ExportSettings
from ledger.config import CloseSettings, ConfigError
from exporters.close_package.close_data import CloseDataError
from exporters.close_package.package import build_close_packages
from exporters.close_package.presentation import display_amount
from orchestration import progress
from orchestration.cli_args import add_allow_empty, add_command, period
from orchestration.cli_guards import require_journal_lines
from orchestration.instance import recorded_proofs
from orchestration.wording import counted, files_summary


def register(subcommands: argparse._SubParsersAction) -> None:
    package = add_command(subcommands, "package", "write a period's close packages: trial balance, roll-forward, reconciliation, exceptions, charts",
                          "stripe-close package --period 2026-10 --entity europe")
    package.add_argument("--period", type=period, required=True, help="the accounting period, YYYY-MM")
    package.add_argument("--entity", help="only this entity (seeds/entities.csv entity_id; default every entity with journal lines through the period)")
    add_allow_empty(package, "write the package")
    package.set_defaults(handler=_package)


def _package(args: argparse.Namespace) -> int:
    try:
        close = CloseSettings.from_env()
        settings = ExportSettings.from_env()
    except ConfigError as error:
        print(str(error), file=sys.stderr)
        return 2
    require_journal_lines(close.warehouse, args.period, args.entity, args.allow_empty, "package")
    try:
        packages = build_close_packages(close.warehouse, settings.destination, [args.period], close.entity_id, args.entity,
                                        proofs=recorded_proofs(), reporting_timezone=close.reporting_timezone)
    except (CloseDataError, EntityConfigError) as error:
        print(str(error), file=sys.stderr)
        return 2
    for package in packages:
        data = package.data
        print(f"{data.entity_id} {data.period}:")
        if package.frozen:
            print(f"  {package.frozen.describe()}")
        for figures in data.headline():
            currency = figures.currency
            bank = (f"{counted(figures.payouts_matched, 'payout')} matched, {figures.unmatched_payouts:,} unmatched "
                    f"({display_amount(figures.unmatched_payouts_minor, currency)})") if figures.bank_reconciled else "bank reconciliation NOT performed: no statements"
            print(f"  {currency.upper()}: Stripe ending balance {display_amount(figures.stripe_ending_balance_minor, currency)}, {bank}")
        not_performed = data.bank_coverage.describe()
        print(f"  {counted(len(data.exceptions), 'open exception')}" + (f"; {not_performed}" if not_performed else ""))
        for published in package.published:
            if published.download_url:
                print(f"  Download {published.name}: {published.download_url}")
    for line in files_summary(progress.files_written()):
        print(line)
    return 0
