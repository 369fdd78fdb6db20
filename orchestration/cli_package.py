"""`stripe-close package --period YYYY-MM`: write a period's close package (HTML and XLSX) from the warehouse.

It goes where the exports go (CLOSE_EXPORT_DIR or CLOSE_EXPORT_S3_URI), under
`<entity>/<period>/close_package/`. Exit codes: 0 written, 2 bad input or configuration.
"""

from __future__ import annotations

import argparse
import sys

from exporters.settings import ExportSettings
from ledger.config import CloseSettings, ConfigError
from exporters.close_package.close_data import CloseDataError
from exporters.close_package.package import build_close_package
from exporters.close_package.presentation import display_amount


def register(subcommands: argparse._SubParsersAction) -> None:
    package = subcommands.add_parser("package", help="write a period's close package: trial balance, roll-forward, reconciliation, exceptions, charts")
    package.add_argument("--period", required=True, help="the accounting period, YYYY-MM")
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
        package = build_close_package(close.warehouse, settings.destination, close.entity_id, args.period)
    except CloseDataError as error:
        print(str(error), file=sys.stderr)
        return 2
    data = package.data
    for figures in data.headline():
        currency = figures.currency
        print(
            f"{currency.upper()}: Stripe ending balance {display_amount(figures.stripe_ending_balance_minor, currency)}, "
            f"{figures.payouts_matched} payout(s) matched, {figures.unmatched_payouts} unmatched ({display_amount(figures.unmatched_payouts_minor, currency)})"
        )
    print(f"{len(data.exceptions)} open exception(s)")
    for published in package.published:
        print(f"Published: {published.location}" + (f" (download: {published.download_url})" if published.download_url else ""))
    return 0
