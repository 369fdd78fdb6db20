"""`stripe-close bank parse FILE`: print one bank statement file as a JSON object.

`main` takes the arguments after `bank` (e.g. ["parse", "statement.bai2", "--format", "bai2"]).
Exit status 0 with the JSON on stdout (warnings also on stderr), 1 with the error on stderr when
the file is refused, 2 for a wrong command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ledger.sources.bank.csv_statement import CsvConfig
from ledger.sources.bank.detect import FILE_FORMATS
from ledger.sources.bank.model import BankStatementError
from ledger.sources.bank.parse import parse_statement_file


def main(argv: list[str]) -> int:
    args = _argument_parser().parse_args(argv)
    try:
        csv_config = _load_csv_config(args.csv_config) if args.csv_config else None
        parsed = parse_statement_file(
            args.file,
            format=args.format,
            csv_config=csv_config,
            control_totals="warn" if args.accept_control_total_mismatch else "error",
        )
    except BankStatementError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    json.dump(parsed.to_json_dict(), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    for warning in parsed.warnings:
        print(f"warning: {parsed.file_name}: {warning}", file=sys.stderr)
    return 0


def _argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stripe-close bank", description="Bank statement files.")
    commands = parser.add_subparsers(dest="command", required=True)
    parse = commands.add_parser("parse", help="print a statement file (BAI2, camt, MT940, CSV) as JSON")
    parse.add_argument("file", type=Path)
    parse.add_argument("--format", choices=FILE_FORMATS, help="skip detection from the file's content")
    parse.add_argument("--csv-config", type=Path, metavar="FILE.json", help="CSV column mapping (CsvConfig keys)")
    parse.add_argument(
        "--accept-control-total-mismatch",
        action="store_true",
        help="load a BAI2 file whose 49/98/99 control totals do not add up, with warnings (check with the bank first)",
    )
    return parser


def _load_csv_config(path: Path) -> CsvConfig:
    try:
        return CsvConfig.from_mapping(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as error:
        raise BankStatementError(path.name, None, f"not a usable CSV mapping: {error}") from error
