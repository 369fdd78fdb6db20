"""Bank statement files (BAI2, camt.052/053/054, MT940, OFX/QFX, CSV) as normalized statement lines.

`parse_statement_file(path)` returns a ParsedStatement: every entry as a StatementLine (minor
units, direction, dates, references, text, file and line), the balances the file states, and the
control figures it was checked against. A file that cannot be read completely and exactly raises
BankStatementError naming the file, the line and the reason; nothing partial is ever returned.
"""

from ledger.sources.bank.csv_presets import CSV_PRESETS, csv_preset
from ledger.sources.bank.csv_statement import CsvConfig
from ledger.sources.bank.detect import FILE_FORMATS, FileFormat
from ledger.sources.bank.model import Balance, BankStatementError, ControlCheck, ParsedStatement, StatementLine
from ledger.sources.bank.parse import parse_statement_file

__all__ = [
    "CSV_PRESETS",
    "FILE_FORMATS",
    "Balance",
    "BankStatementError",
    "ControlCheck",
    "CsvConfig",
    "FileFormat",
    "ParsedStatement",
    "StatementLine",
    "csv_preset",
    "parse_statement_file",
]
