"""The journal for accountants: CSV and XLSX, with the drill-down to balance transaction ids.

`journal.csv` has one row per journal line with unsigned debit and credit in the currency's
decimals, and the same in the entity's functional currency with the exchange rate (from the
translated journal; revaluations are functional-currency entries); `journal_drilldown.csv` has
one row per source record behind each line (signed, debit positive); `journal.xlsx` holds both as the sheets `Journal` and `Drill-down`. Every file is
parsed back and must equal the ledger per currency and account; the drill-down must too, since
the sources of a line sum to the line (and the sources of a line that nets to zero sum to zero).
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from exporters import xlsx
from exporters.journal import ExportedFile, JournalLine, LineSource, atomic_write, format_rate, parsed_line, prove_totals
from ledger.money import format_major, parse_major, to_major

JOURNAL_HEADER = ("external_id", "accounting_date", "currency", "account_code", "account_name", "debit", "credit", "memo",
                  "exchange_rate", "functional_currency", "functional_debit", "functional_credit")
DRILLDOWN_HEADER = ("journal_line_id", "external_id", "account_code", "source_kind", "source_id", "line_role", "currency", "amount", "accounting_date")
JOURNAL_SHEET, DRILLDOWN_SHEET = "Journal", "Drill-down"


def _journal_rows(lines: list[JournalLine], amount, rate) -> list[tuple]:
    def sides(minor: int, currency: str) -> tuple:
        return amount(minor, currency) if minor > 0 else "", amount(-minor, currency) if minor < 0 else ""

    return [
        (line.external_id, line.accounting_date.isoformat(), line.currency.upper(), line.account_code, line.account_name,
         *sides(line.amount_minor, line.currency), line.memo, rate(line.exchange_rate), line.functional_currency.upper(),
         *sides(line.functional_amount_minor, line.functional_currency))
        for line in lines
    ]


def _drilldown_rows(sources: list[LineSource], amount) -> list[tuple]:
    return [
        (source.journal_line_id, source.external_id, source.account_code, source.source_kind, source.source_id, source.line_role,
         source.currency.upper(), amount(source.amount_minor, source.currency), source.accounting_date.isoformat())
        for source in sources
    ]


def _parse_journal(rows: list[tuple]) -> list[JournalLine]:
    def minor(value: object, currency: str) -> int:
        return 0 if value in ("", None) else parse_major(str(xlsx.cell_decimal(value)), currency)

    return [
        parsed_line(row[0], row[2].lower(), str(row[3]), minor(row[5], row[2]) - minor(row[6], row[2]),
                    row[9].lower(), minor(row[10], row[9]) - minor(row[11], row[9]))
        for row in rows
    ]


def _parse_drilldown(rows: list[tuple]) -> list[JournalLine]:
    return [parsed_line(row[1], row[6].lower(), str(row[2]), parse_major(str(xlsx.cell_decimal(row[7])), row[6])) for row in rows]


def _with_sources(lines: list[JournalLine]) -> list[JournalLine]:
    """The lines a drill-down explains: revaluations have no source records."""
    return [line for line in lines if not line.is_revaluation]


def _write_csv(path: Path, header: tuple, rows: list[tuple]) -> list[tuple]:
    with atomic_write(path) as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    with path.open(newline="", encoding="utf-8") as stream:
        return [tuple(row) for row in list(csv.reader(stream))[1:]]


def write_journal_csv(lines: list[JournalLine], path: Path) -> ExportedFile:
    written = _write_csv(path, JOURNAL_HEADER, _journal_rows(lines, format_major, format_rate))
    return prove_totals(path, _parse_journal(written), lines)


def write_drilldown_csv(lines: list[JournalLine], sources: list[LineSource], path: Path) -> ExportedFile:
    written = _write_csv(path, DRILLDOWN_HEADER, _drilldown_rows(sources, format_major))
    return prove_totals(path, _parse_drilldown(written), _with_sources(lines), functional=False)


def write_xlsx(lines: list[JournalLine], sources: list[LineSource], path: Path) -> ExportedFile:
    """Both sheets; the file's row count and totals are the Journal sheet's."""
    workbook = xlsx.new_workbook()
    xlsx.add_sheet(workbook, JOURNAL_SHEET, JOURNAL_HEADER, _journal_rows(lines, to_major, Decimal.normalize))
    xlsx.add_sheet(workbook, DRILLDOWN_SHEET, DRILLDOWN_HEADER, _drilldown_rows(sources, to_major))
    xlsx.save(workbook, path)
    prove_totals(path, _parse_drilldown(xlsx.read_rows(path, DRILLDOWN_SHEET)[1:]), _with_sources(lines), functional=False)
    return prove_totals(path, _parse_journal(xlsx.read_rows(path, JOURNAL_SHEET)[1:]), lines)
