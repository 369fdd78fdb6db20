"""SAP S/4HANA "Upload General Journal Entries" (F2548) files: CSV with comma or semicolon, and XLSX.

Layout (reference/erp.md 2a; always compare with the template your tenant downloads): per
journal, a `Header` block and a `Line Items` block, each with a label row, a row of technical
field names, a row of descriptions and its data rows; column A holds the journal number.
Debits and credits are unsigned, in separate columns (WRSOL/WRHAB), with the currency's own
decimals in SAP (`SapOptions.decimals`); the semicolon file writes a decimal comma, as the locales that use it expect. The header
carries the exchange rate (KURSF_EXT) and the company code's currency (HWAER); each item its
signed amount in that currency (DMBTR, debit positive), from the translated journal.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from exporters import xlsx
from exporters.journal import ExportedFile, JournalEntry, JournalLine, atomic_write, format_rate, parsed_line, prove_totals
from exporters.sap import HEADER_TEXT_LENGTH, ITEM_TEXT_LENGTH, SapOptions, document_reference_id, sap_entries
from exporters.sales_detail import detail_of, line_text
from ledger.money import parse_major

HEADER_FIELDS = ("BUKRS", "BLART", "BLDAT", "BUDAT", "MONAT", "BKTXT", "WAERS", "KURSF_EXT", "XBLNR", "HWAER")
HEADER_LABELS = ("Company Code", "Journal Entry Type", "Journal Entry Date", "Posting Date", "Fiscal Period",
                 "Header Text", "Transaction Currency", "Exchange Rate", "Reference", "Company Code Currency")
ITEM_FIELDS = ("BUKRS", "HKONT", "SGTXT", "WRSOL", "WRHAB", "DMBTR")
ITEM_LABELS = ("Company Code", "G/L Account", "Item Text", "Debit", "Credit", "Amount in Company Code Currency")
HEADER_BLOCK, ITEM_BLOCK = "Header", "Line Items"
SHEET = "Journal Entries"


@dataclass(frozen=True)
class CsvDialect:
    delimiter: str
    decimal_separator: str


COMMA = CsvDialect(",", ".")
SEMICOLON = CsvDialect(";", ",")


def _rows(entries: list[JournalEntry], options: SapOptions, amount, rate) -> list[list[object]]:
    """The template's rows; `amount(minor, currency)` renders an amount cell, `rate(decimal)` the exchange rate."""
    rows: list[list[object]] = []
    for number, entry in enumerate(entries, start=1):
        day = entry.accounting_date.strftime(options.date_format)
        rows += [[HEADER_BLOCK], ["Journal", *HEADER_FIELDS], ["Journal", *HEADER_LABELS]]
        rows.append([number, options.company_code, options.document_type, day, day, "", entry.external_id[:HEADER_TEXT_LENGTH],
                     entry.currency.upper(), rate(entry.exchange_rate), document_reference_id(entry), entry.functional_currency.upper()])
        rows += [[ITEM_BLOCK], ["Journal", *ITEM_FIELDS], ["Journal", *ITEM_LABELS]]
        for line in entry.lines:
            cell = amount(abs(line.amount_minor), line.currency)
            rows.append([number, options.company_code, line.sap_gl_account, line_text(line)[:ITEM_TEXT_LENGTH],
                         cell if line.amount_minor > 0 else "", cell if line.amount_minor < 0 else "",
                         amount(line.functional_amount_minor, line.functional_currency)])
    return rows


def write_csv(lines: list[JournalLine], path: Path, options: SapOptions, dialect: CsvDialect = COMMA) -> ExportedFile:
    entries = sap_entries(lines, options)
    rows = _rows(entries, options, lambda minor, currency: options.amount(minor, currency, dialect.decimal_separator),
                 lambda rate: format_rate(rate).replace(".", dialect.decimal_separator))
    with atomic_write(path) as stream:
        csv.writer(stream, delimiter=dialect.delimiter, lineterminator="\n").writerows(rows)
    with path.open(newline="", encoding="utf-8") as stream:
        written = list(csv.reader(stream, delimiter=dialect.delimiter))
    return prove_totals(path, read_journal_lines(written, _accounts(lines), dialect.decimal_separator), lines)


def write_xlsx(lines: list[JournalLine], path: Path, options: SapOptions) -> ExportedFile:
    entries = sap_entries(lines, options)
    workbook = xlsx.new_workbook()
    table = _rows(entries, options, lambda minor, currency: Decimal(options.amount(minor, currency)), lambda rate: rate.normalize())
    xlsx.add_sheet(workbook, SHEET, table[0], table[1:])
    xlsx.save(workbook, path)
    written = [[("" if value is None else value) for value in row] for row in xlsx.read_rows(path, SHEET)]
    return prove_totals(path, read_journal_lines(written, _accounts(lines), "."), lines)


def _accounts(lines: list[JournalLine]) -> dict[str, str]:
    return {line.sap_gl_account: line.account_code for line in lines}


def read_journal_lines(rows: list[list[object]], account_codes: dict[str, str], decimal_separator: str) -> list[JournalLine]:
    """Parse the template back: journal lines keyed by the journal's reference, accounts mapped to ledger codes."""
    parsed, block, headers, meta_rows = [], None, {}, 0
    for row in rows:
        cells = [str(value) if not isinstance(value, (int, float, Decimal)) or isinstance(value, bool) else value for value in row]
        while cells and cells[-1] in ("", None):
            cells.pop()
        if len(cells) == 1 and cells[0] in (HEADER_BLOCK, ITEM_BLOCK):
            block, meta_rows = cells[0], 2
            continue
        if meta_rows:
            meta_rows -= 1
            continue
        cells += [""] * (len(HEADER_FIELDS) + 1 - len(cells))
        journal = int(cells[0])
        if block == HEADER_BLOCK:
            headers[journal] = (str(cells[7]).lower(), str(cells[9]), str(cells[10]).lower())
            continue
        currency, reference, functional_currency = headers[journal]

        def minor(value: object, currency: str) -> int:
            if value in ("", None):
                return 0
            text = str(xlsx.cell_decimal(value)) if isinstance(value, (int, float)) else str(value)
            return parse_major(text, currency, decimal_separator if isinstance(value, str) else ".")

        parsed.append(parsed_line(reference, currency, account_codes.get(str(cells[2]), str(cells[2])),
                                  minor(cells[4], currency) - minor(cells[5], currency), functional_currency, minor(cells[6], functional_currency),
                                  detail_of(str(cells[3]))))
    return parsed
