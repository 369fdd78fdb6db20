"""NetSuite journal entries as a CSV Import Assistant file (single-file format, reference/erp.md 1a).

Rows are grouped into journal entries by External ID, which is deterministic, so importing the
file again with Add-or-Update updates entries instead of duplicating them. Amounts are written in
major units with exactly the currency's decimals (JPY none), as unsigned Debit/Credit columns.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from exporters.journal import CurrencyTotals, JournalLine, atomic_write, totals_by_currency
from ledger.money import format_major, parse_major

HEADER = (
    "External ID",
    "Date",
    "Subsidiary",
    "Currency",
    "Memo",
    "Journal Entry -Line: Account",
    "Journal Entry -Line: Debit",
    "Journal Entry -Line: Credit",
    "Journal Entry -Line: Memo",
)
DEFAULT_DATE_FORMAT = "%m/%d/%Y"


class ExportTotalsError(RuntimeError):
    """The written file does not add up to the ledger it was written from."""


@dataclass(frozen=True)
class ExportedFile:
    path: Path
    rows: int
    totals: dict[str, CurrencyTotals]


def write_csv(lines: list[JournalLine], path: Path, subsidiary: str, date_format: str = DEFAULT_DATE_FORMAT) -> ExportedFile:
    """Write `lines` and prove the file's debit and credit totals equal the ledger's, per currency."""
    with atomic_write(path) as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(HEADER)
        for line in lines:
            writer.writerow(
                (
                    line.external_id,
                    line.accounting_date.strftime(date_format),
                    subsidiary,
                    line.currency.upper(),
                    line.memo,
                    line.netsuite_account or line.account_code,
                    format_major(line.debit_minor, line.currency) if line.debit_minor else "",
                    format_major(line.credit_minor, line.currency) if line.credit_minor else "",
                    line.account_name,
                )
            )
    written = read_totals(path)
    expected = totals_by_currency(lines)
    if written != expected:
        path.unlink()
        raise ExportTotalsError(f"{path}: file totals {written} differ from ledger totals {expected}; the file was removed")
    return ExportedFile(path=path, rows=len(lines), totals=written)


def read_totals(path: Path) -> dict[str, CurrencyTotals]:
    """Debit and credit totals per currency, parsed back from a written file."""
    debit: dict[str, int] = {}
    credit: dict[str, int] = {}
    with path.open(newline="", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            currency = row["Currency"].lower()
            debit[currency] = debit.get(currency, 0) + (parse_major(row[HEADER[6]], currency) if row[HEADER[6]] else 0)
            credit[currency] = credit.get(currency, 0) + (parse_major(row[HEADER[7]], currency) if row[HEADER[7]] else 0)
    return {currency: CurrencyTotals(debit[currency], credit[currency]) for currency in sorted(debit)}
