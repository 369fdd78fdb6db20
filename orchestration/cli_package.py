"""`stripe-close package --period YYYY-MM`: write a period's close packages (HTML and XLSX) from the warehouse.

One package per entity with journal lines through the period (seeds/entities.csv), each with the
bank reconciliation of its own Stripe accounts' payouts; `--entity` narrows the run to one. They go
where the exports go (CLOSE_EXPORT_DIR or CLOSE_EXPORT_S3_URI), under `<entity>/<period>/close_package/`.
Exit codes: 0 written, 2 bad input or configuration.
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


def register(subcommands: argparse._SubParsersAction) -> None:
    package = subcommands.add_parser("package", help="write a period's close packages: trial balance, roll-forward, reconciliation, exceptions, charts")
    package.add_argument("--period", required=True, help="the accounting period, YYYY-MM")
    package.add_argument("--entity", help="only this entity (seeds/entities.csv entity_id; default every entity with journal lines through the period)")
    package.set_defaults(handler=_package)


def _package(args: argparse.Namespace) -> int:
    try:
        close = CloseSettings.from_env()
        settings = ExportSettings.from_env()
    except ConfigError as error:
        print(str(error), file=sys.stderr)
        return 2
    if not close.warehouse.exists():
        print(f"no warehouse at {close.warehouse}: run the close first (stripe-close run or demo)", file=sys.stderr)
        return 2
    try:
        packages = build_close_packages(close.warehouse, settings.destination, [args.period], close.entity_id, args.entity)
    except (CloseDataError, EntityConfigError) as error:
        print(str(error), file=sys.stderr)
        return 2
    for package in packages:
        data = package.data
        print(f"{data.entity_id} {data.period}:")
        for figures in data.headline():
            currency = figures.currency
            print(
                f"  {currency.upper()}: Stripe ending balance {display_amount(figures.stripe_ending_balance_minor, currency)}, "
                f"{figures.payouts_matched} payout(s) matched, {figures.unmatched_payouts} unmatched ({display_amount(figures.unmatched_payouts_minor, currency)})"
            )
        print(f"  {len(data.exceptions)} open exception(s)")
        for published in package.published:
            print(f"  Published: {published.location}" + (f" (download: {published.download_url})" if published.download_url else ""))
    return 0
