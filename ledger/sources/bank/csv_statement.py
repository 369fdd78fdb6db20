"""Bank CSV exports, read through a column mapping (CsvConfig), into a ParsedStatement.

Standard library `csv`: no CSV package knows bank layouts, and the mapping is the whole job.
A CSV export carries no control totals or balances the parser could trust, so none are checked.

Layouts covered by the mapping: a signed amount column (Chase: negative = debit), an unsigned
amount with a debit/credit indicator column (`indicator_column`: `D`/`C`, `DR`/`CR`,
`Debit`/`Credit` by default, any values by configuration; a value that is neither refuses the
file naming column, line and value, because guessing would invert a sign), or separate debit and
credit columns (most European banks: one filled per row, the other empty or zero; a minus sign in
the debit column is tolerated); any date format (a time of day after the date is ignored), decimal
comma, thousands separators, preamble lines above the header, and the surplus trailing comma
Chase puts on every row. A status column (`status_column`) maps each value to booked, pending or
skipped (failed or reverted payments the bank never booked); an unknown value is refused. A file
for one account in one currency: a row in another currency (`currency_column`) is refused rather
than mixed in.

Named layouts of banks that export CSV (Chase, Mercury, Wise...) are in `csv_presets`; a JSON
mapping selects one with `"preset"` and adds the account (`CsvConfig.from_mapping`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from ledger.sources.bank.fields import parse_currency, parse_decimal_amount
from ledger.sources.bank.model import (
    BankStatementError,
    Direction,
    EntryStatus,
    ParsedStatement,
    StatementLine,
    located,
)
from ledger.sources.bank.source_file import SourceFile


@dataclass(frozen=True)
class CsvConfig:
    account_id: str  # CSV exports rarely name the account: the caller knows which one it is
    currency: str
    booking_date_column: str
    date_format: str  # strptime format, e.g. "%m/%d/%Y" or "%d.%m.%Y"
    amount_column: str | None = None  # signed: negative is a debit; unsigned with indicator_column
    indicator_column: str | None = None  # beside amount_column: says debit or credit
    debit_values: tuple[str, ...] = ("D", "DR", "Debit")  # indicator values, compared without case
    credit_values: tuple[str, ...] = ("C", "CR", "Credit")
    debit_column: str | None = None
    credit_column: str | None = None
    value_date_column: str | None = None
    text_columns: tuple[str, ...] = ()
    bank_reference_column: str | None = None
    customer_reference_column: str | None = None
    transaction_code_column: str | None = None
    currency_column: str | None = None
    decimal_separator: str = "."
    thousands_separator: str = ""
    delimiter: str = ","
    skip_lines: int = 0  # preamble above the header row
    status_column: str | None = None
    status_values: Mapping[str, str] | None = None  # value -> "booked", "pending" or "skip"

    def __post_init__(self) -> None:
        for name in ("text_columns", "debit_values", "credit_values"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.indicator_column and not self.amount_column:
            raise ValueError("CsvConfig indicator_column needs amount_column, the amount it gives a direction")
        if self.indicator_column and _folded(self.debit_values) & _folded(self.credit_values):
            raise ValueError("CsvConfig debit_values and credit_values share a value")
        if bool(self.status_column) != bool(self.status_values):
            raise ValueError("CsvConfig status_column and status_values go together")
        unknown = set((self.status_values or {}).values()) - set(_ROW_STATUSES)
        if unknown:
            raise ValueError(f"CsvConfig status_values may map to {', '.join(_ROW_STATUSES)}, not {sorted(unknown)}")
        signed = self.amount_column is not None
        split = self.debit_column is not None or self.credit_column is not None
        if signed == split:
            raise ValueError("CsvConfig needs either amount_column (signed) or debit_column/credit_column, not both")
        if self.decimal_separator == self.thousands_separator:
            raise ValueError("CsvConfig decimal_separator and thousands_separator must differ")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> CsvConfig:
        """From a JSON object with CsvConfig's field names (the CLI's --csv-config file).

        `"preset": "mercury"` starts from a bank's layout (`csv_presets`); the other keys (at
        least `account_id`) complete or override it.
        """
        from ledger.sources.bank.csv_presets import preset_fields

        settings = dict(mapping)
        preset = settings.pop("preset", None)
        unknown = set(settings) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown CsvConfig keys: {', '.join(sorted(unknown))}")
        return cls(**({**preset_fields(preset), **settings} if preset else settings))


def parse_csv(source: SourceFile, config: CsvConfig) -> ParsedStatement:
    stream = io.StringIO(source.text(), newline="")
    for _ in range(config.skip_lines):
        stream.readline()
    reader = csv.reader(stream, delimiter=config.delimiter)
    header_line = config.skip_lines + 1
    header = [name.strip() for name in next(reader, [])]
    missing = [name for name in _mapped_columns(config) if name not in header]
    if missing:
        raise BankStatementError(
            source.name, header_line, f"header has no column {', '.join(map(repr, missing))}; columns are {header}"
        )
    entries: list[StatementLine] = []
    previous_end = reader.line_num
    try:
        for row in reader:
            line = config.skip_lines + previous_end + 1
            previous_end = reader.line_num
            if not any(value.strip() for value in row):
                continue
            if len(row) < len(header) or any(value.strip() for value in row[len(header) :]):
                raise BankStatementError(source.name, line, f"row has {len(row)} fields, the header has {len(header)}")
            with located(source.name, line):
                entry = _entry(source, config, dict(zip(header, row[: len(header)], strict=True)), line)
            if entry is not None:
                entries.append(entry)
    except csv.Error as error:
        raise BankStatementError(
            source.name, config.skip_lines + reader.line_num, f"not readable as CSV: {error}"
        ) from error
    if not entries:
        raise BankStatementError(source.name, header_line, "the file has a header but no rows")
    return source.parsed("csv", entries)


def _entry(source: SourceFile, config: CsvConfig, row: dict[str, str], line: int) -> StatementLine | None:
    status = _status(config, row)
    if status is None:
        return None
    currency = parse_currency(config.currency)
    if config.currency_column:
        row_currency = parse_currency(row[config.currency_column])
        if row_currency != currency:
            raise ValueError(f"row in {row_currency.upper()} in a {currency.upper()} statement: mixed currencies")
    amount, direction = _amount(config, row, currency)

    def optional(column: str | None) -> str | None:
        return (row[column].strip() or None) if column else None

    value_date = optional(config.value_date_column)
    return StatementLine(
        account_id=config.account_id,
        booking_date=_date(row[config.booking_date_column], config.date_format),
        value_date=_date(value_date, config.date_format) if value_date else None,
        amount_minor=amount,
        direction=direction,
        currency=currency,
        status=status,
        bank_reference=optional(config.bank_reference_column),
        customer_reference=optional(config.customer_reference_column),
        transaction_code=optional(config.transaction_code_column),
        text=" ".join(row[column].strip() for column in config.text_columns if row[column].strip()),
        file_name=source.name,
        line=line,
        file_sha256=source.sha256,
    )


def _status(config: CsvConfig, row: dict[str, str]) -> EntryStatus | None:
    """The row's entry status; None for a row the bank never booked (status "skip")."""
    if not config.status_column or not config.status_values:
        return "booked"
    value = row[config.status_column].strip()
    folded = {key.casefold(): status for key, status in config.status_values.items()}
    if value.casefold() not in folded:
        raise ValueError(
            f"column {config.status_column!r} is {value!r}, not one of {', '.join(config.status_values)}"
            " (add it to status_values)"
        )
    status = folded[value.casefold()]
    return None if status == "skip" else status  # type: ignore[return-value]


def _amount(config: CsvConfig, row: dict[str, str], currency: str) -> tuple[int, Direction]:
    if config.amount_column:
        text = _plain_number(row[config.amount_column], config)
        amount = parse_decimal_amount(text.lstrip("+-"), currency, config.decimal_separator)
        if amount == 0:
            raise ValueError(f"amount {row[config.amount_column]!r} is zero: a statement line needs a direction")
        direction: Direction = "debit" if text.startswith("-") else "credit"
        if config.indicator_column:
            indicated = _indicated_direction(config, row[config.indicator_column])
            if text.startswith("-") and indicated == "credit":
                raise ValueError(
                    f"amount {row[config.amount_column]!r} is negative but column {config.indicator_column!r}"
                    " says credit"
                )
            direction = indicated
        return amount, direction
    found: list[tuple[int, Direction]] = []
    columns: tuple[tuple[str | None, Direction], ...] = (
        (config.debit_column, "debit"),
        (config.credit_column, "credit"),
    )
    for column, direction in columns:
        text = _plain_number(row[column], config) if column else ""
        if direction == "credit" and text.startswith("-"):
            raise ValueError(f"negative amount {text!r} in the credit column {column!r}")
        amount = parse_decimal_amount(text.lstrip("+-"), currency, config.decimal_separator) if text else 0
        if amount:
            found.append((amount, direction))
    if len(found) != 1:
        raise ValueError(
            f"expected an amount in exactly one of {config.debit_column!r} and {config.credit_column!r},"
            f" found {len(found)}"
        )
    return found[0]


def _indicated_direction(config: CsvConfig, value: str) -> Direction:
    assert config.indicator_column
    folded = value.strip().casefold()
    if folded in _folded(config.debit_values):
        return "debit"
    if folded in _folded(config.credit_values):
        return "credit"
    raise ValueError(
        f"column {config.indicator_column!r} is {value.strip()!r}, neither a debit value"
        f" ({', '.join(config.debit_values)}) nor a credit value ({', '.join(config.credit_values)});"
        " set debit_values and credit_values to this bank's indicators"
    )


def _folded(values: tuple[str, ...]) -> set[str]:
    return {value.strip().casefold() for value in values}


def _plain_number(text: str, config: CsvConfig) -> str:
    text = text.strip()
    return text.replace(config.thousands_separator, "") if config.thousands_separator else text


def _date(text: str, date_format: str) -> date:
    day, _, time_of_day = text.strip().partition(" ")
    # Exports stamp rows with a time (Revolut, Mercury); the bank line is dated by its day.
    for candidate in (text.strip(), day) if time_of_day and ":" in time_of_day else (text.strip(),):
        try:
            return datetime.strptime(candidate, date_format).date()
        except ValueError:
            continue
    raise ValueError(f"date {text!r} does not match the format {date_format!r}")


def _mapped_columns(config: CsvConfig) -> list[str]:
    single = (
        config.booking_date_column,
        config.amount_column,
        config.indicator_column,
        config.status_column,
        config.debit_column,
        config.credit_column,
        config.value_date_column,
        config.bank_reference_column,
        config.customer_reference_column,
        config.transaction_code_column,
        config.currency_column,
    )
    return [column for column in (*single, *config.text_columns) if column]


_ROW_STATUSES = ("booked", "pending", "skip")
