"""`stripe-close bank parse|load` and `stripe-close bench match|parse`: bank statements from a shell.

`bank parse FILE` prints one statement file as a JSON object (exit 0), or the refusal naming file,
line and reason on stderr (exit 1). `bank load FOLDER|s3://bucket/prefix` lands every file of an
inbox in CLOSE_WAREHOUSE and lists the files of the inbox still in quarantine, refused now or before
(exit 1 while any remain). `bench match --payouts N` times the matching on N generated payouts and
scores it against the generated truth; `bench parse` times parsing camt.053, MT940 and BAI2 files
of 5 and 50 MB.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ledger.sources.bank.csv_presets import CSV_PRESETS, csv_preset
from ledger.sources.bank.csv_statement import CsvConfig
from ledger.sources.bank.detect import FILE_FORMATS
from ledger.sources.bank.model import BankStatementError
from orchestration.cli_args import add_command, at_least
from orchestration.cli_guards import require_bank_inbox
from orchestration.wording import counted
from sandbox.bank_bench_files import BENCH_FORMATS


class CsvPresetError(ValueError):
    """A CSV preset chosen on the command line without what it needs."""


def register(subcommands: argparse._SubParsersAction, bench_targets: argparse._SubParsersAction) -> None:
    """Add `bank` to the top-level commands and `match` and `parse` under `bench` (which must exist already)."""
    bank = add_command(subcommands, "bank", "bank statement files: parse one, load an inbox", "stripe-close bank load statements/")
    bank_commands = bank.add_subparsers(dest="bank_command", required=True)
    parse = add_command(bank_commands, "parse", "print a statement file (BAI2, camt, MT940, OFX, CSV) as JSON",
                        "stripe-close bank parse statement.csv --csv-preset wise --csv-account acct-1 --csv-currency EUR")
    parse.add_argument("file", type=Path, help="the statement file")
    parse.add_argument("--format", choices=FILE_FORMATS, help="skip detection from the file's content")
    _csv_config_argument(parse)
    parse.add_argument(
        "--accept-control-total-mismatch",
        action="store_true",
        help="load a file whose control totals (BAI2 49/98/99, camt TxsSummry) do not add up, with warnings (check with the bank first)",
    )
    parse.set_defaults(handler=_parse)
    load = add_command(bank_commands, "load", "load every statement file of a folder or s3:// prefix into CLOSE_WAREHOUSE",
                       "stripe-close bank load s3://treasury/inbox/")
    load.add_argument("source", help="a folder, or s3://bucket/prefix (boto3; AWS_ENDPOINT_URL is honoured)")
    _csv_config_argument(load)
    load.set_defaults(handler=_load)

    match = add_command(bench_targets, "match", "time payout-to-bank matching on generated payouts, with precision and recall",
                        "stripe-close bench match --payouts 100000")
    match.add_argument("--payouts", type=at_least(1), default=1_000_000, help="payouts to generate (default 1,000,000)")
    match.add_argument("--seed", type=int, default=7, help="the generator's seed (default 7)")
    match.add_argument("--workdir", type=Path, default=Path(".close/bench-match"), help="where the benchmark's warehouse goes")
    match.set_defaults(handler=_bench_match)

    parse_bench = add_command(bench_targets, "parse", "time statement parsing (camt.053, MT940, BAI2) at 5 and 50 MB",
                              "stripe-close bench parse --sizes 5 --formats camt.053")
    parse_bench.add_argument("--sizes", default="5,50", help="file sizes in MB, comma-separated")
    parse_bench.add_argument("--formats", default=",".join(BENCH_FORMATS), help="comma-separated, of " + ", ".join(BENCH_FORMATS))
    parse_bench.add_argument("--workdir", type=Path, default=Path(".close/bench-parse"), help="where the generated files go")
    parse_bench.set_defaults(handler=_bench_parse)


def _csv_config_argument(parser: argparse.ArgumentParser) -> None:
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--csv-config", type=Path, metavar="FILE.json", help="CSV column mapping (CsvConfig keys)")
    chosen.add_argument("--csv-preset", choices=CSV_PRESETS, help="a bank's CSV layout instead of a mapping file")
    parser.add_argument("--csv-account", metavar="ID", help="with --csv-preset: the bank account the CSV is for")
    parser.add_argument("--csv-currency", metavar="CODE", help="with --csv-preset: the account's currency (Wise, Revolut)")


def _parse(args: argparse.Namespace) -> int:
    from ledger.sources.bank.parse import parse_statement_file

    try:
        parsed = parse_statement_file(
            args.file,
            format=args.format,
            csv_config=_load_csv_config(args),
            control_totals="warn" if args.accept_control_total_mismatch else "error",
        )
    except (BankStatementError, CsvPresetError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    json.dump(parsed.to_json_dict(), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    for warning in parsed.warnings:
        print(f"warning: {parsed.file_name}: {warning}", file=sys.stderr)
    return 0


def _load(args: argparse.Namespace) -> int:
    from ledger import warehouse
    from ledger.config import CloseSettings
    from ledger.sources.bank.inbox import load_inbox, open_inbox

    try:
        csv_config = _load_csv_config(args)
    except (BankStatementError, CsvPresetError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    require_bank_inbox(args.source)
    settings = CloseSettings.from_env()
    with warehouse.connect(settings.warehouse) as connection:
        outcomes = load_inbox(connection, open_inbox(args.source), csv_config)
    for outcome in outcomes:
        print(f"{outcome.status:<20} {outcome.name}  {counted(outcome.lines, 'line')}" + (f"  {outcome.message}" if outcome.message else ""))
    # Refused bytes are not tried again, so a second run would look clean: list what is still refused.
    remaining = [outcome for outcome in outcomes if outcome.failed]
    if remaining:
        noun = "file remains" if len(remaining) == 1 else "files remain"
        print(f"{len(remaining)} {noun} in quarantine (correct or remove them, then load again):")
        for outcome in remaining:
            print(f"  {outcome.message}")
    return 1 if remaining else 0


def _bench_match(args: argparse.Namespace) -> int:
    from orchestration.bench_match import run_match_benchmark

    return run_match_benchmark(args.payouts, args.seed, args.workdir)


def _bench_parse(args: argparse.Namespace) -> int:
    from orchestration.bench_parse import run_parse_benchmark

    formats = args.formats.split(",")
    unknown = sorted(set(formats) - set(BENCH_FORMATS))
    if unknown:
        print(f"error: --formats: {', '.join(unknown)} is not one of {', '.join(BENCH_FORMATS)}", file=sys.stderr)
        return 2
    return run_parse_benchmark([int(size) for size in args.sizes.split(",")], formats, args.workdir)


def _load_csv_config(args: argparse.Namespace) -> CsvConfig | None:
    if args.csv_preset:
        if not args.csv_account:
            raise CsvPresetError(f"--csv-preset {args.csv_preset} needs --csv-account ID")
        currency = {"currency": args.csv_currency} if args.csv_currency else {}
        try:
            return csv_preset(args.csv_preset, args.csv_account, **currency)
        except TypeError:
            raise CsvPresetError(f"{args.csv_preset} exports one file per currency: pass --csv-currency CODE") from None
    if args.csv_config is None:
        return None
    try:
        return CsvConfig.from_mapping(json.loads(args.csv_config.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as error:
        raise BankStatementError(args.csv_config.name, None, f"not a usable CSV mapping: {error}") from error
