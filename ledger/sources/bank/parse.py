"""Parse one bank statement file, whatever its format, into a ParsedStatement."""

from __future__ import annotations

from pathlib import Path

from ledger.sources.bank.bai2 import parse_bai2
from ledger.sources.bank.camt import parse_camt
from ledger.sources.bank.csv_statement import CsvConfig, parse_csv
from ledger.sources.bank.detect import FileFormat, detect_format
from ledger.sources.bank.model import BankStatementError, ParsedStatement
from ledger.sources.bank.mt940 import parse_mt940
from ledger.sources.bank.ofx import parse_ofx
from ledger.sources.bank.source_file import SourceFile
from ledger.sources.bank.totals import ControlTotalPolicy


def parse_statement_file(
    path: Path | str,
    *,
    format: FileFormat | None = None,
    csv_config: CsvConfig | None = None,
    control_totals: ControlTotalPolicy = "error",
) -> ParsedStatement:
    """All entries, balances and checks of the file, or BankStatementError naming file, line and reason.

    `format` is detected from the content when None ("csv" when a csv_config is given).
    `control_totals="warn"` accepts a BAI2 file whose 49/98/99 totals, a camt file whose `TxsSummry`,
    or an MT942 whose :90D:/:90C: do not add up (see `totals`).
    """
    source = SourceFile.read(Path(path))
    chosen = format or ("csv" if csv_config else detect_format(source))
    if chosen == "bai2":
        return parse_bai2(source, control_totals)
    if chosen == "camt":
        return parse_camt(source, control_totals)
    if chosen == "mt940":
        return parse_mt940(source, control_totals)
    if chosen == "ofx":
        return parse_ofx(source)
    if chosen == "csv":
        if csv_config is None:
            raise BankStatementError(source.name, None, "a CSV statement needs a column mapping: pass csv_config")
        return parse_csv(source, csv_config)
    raise BankStatementError(source.name, None, f"unknown format {chosen!r}; use one of bai2, camt, mt940, ofx, csv")
