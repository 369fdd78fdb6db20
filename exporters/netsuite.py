"""NetSuite journal entries as a CSV Import Assistant file (single-file format, reference/erp.md 1a).

Rows are grouped into journal entries by External ID, which is deterministic, so importing the
file again with Add-or-Update updates entries instead of duplicating them. Amounts are unsigned
Debit/Credit columns in major units with exactly the currency's decimals (JPY none).

Each entry also carries its `Exchange Rate` (base amount / foreign amount, as NetSuite defines it)
and each line its amount in the entity's functional currency (`Functional Currency`,
`Functional Debit`, `Functional Credit`, from the translated journal). NetSuite derives base
amounts from the rate itself; the functional columns state what the ledger booked, to map onto
base-amount fields or to check NetSuite against. A translated entry's rounding difference is a row
with only functional amounts.

NetSuite accepts at most 2 decimals. Which entries of a three-decimal currency (KWD, BHD, JOD,
OMR, TND) reach this file, refused, posted in the functional currency or rounded, is decided per
currency before (`exporters.currency_policy`); here an amount that does not fit 2 decimals is
refused, never rounded: the error names every entry concerned, and nothing is written. A rounded
KWD amount (12.350) is written with 2 decimals (12.35). The push client applies the same rule
entry by entry. Entries above 1,000 lines are split into balanced parts (`journal.split_entry`).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from exporters.journal import (
    ExportedFile,
    JournalEntry,
    JournalLine,
    atomic_write,
    format_rate,
    group_entries,
    parsed_line,
    prove_totals,
    split_entry,
)
from exporters.sales_detail import detail_of, line_text
from ledger.money import exponent, format_decimals, parse_major, to_major

HEADER = (
    "External ID",
    "Date",
    "Subsidiary",
    "Currency",
    "Exchange Rate",
    "Memo",
    "Journal Entry -Line: Account",
    "Journal Entry -Line: Debit",
    "Journal Entry -Line: Credit",
    "Journal Entry -Line: Memo",
    "Functional Currency",
    "Functional Debit",
    "Functional Credit",
)
ACCOUNT, DEBIT, CREDIT, LINE_MEMO = HEADER[6], HEADER[7], HEADER[8], HEADER[9]
FUNCTIONAL_CURRENCY, FUNCTIONAL_DEBIT, FUNCTIONAL_CREDIT = HEADER[10:]
DEFAULT_DATE_FORMAT = "%m/%d/%Y"
MAX_LINES_PER_ENTRY = 1000
MAX_DECIMALS = 2
ACCOUNT_REFERENCES = ("number_name", "number", "name", "internal_id")


class UnsupportedPrecisionError(ValueError):
    """An amount needs more decimals than NetSuite accepts; the message names the entries."""


class AccountReferenceError(ValueError):
    """An account has no reference of the configured kind; the message names it."""


@dataclass(frozen=True)
class NetSuiteOptions:
    """How the target NetSuite account wants entries: see docs/exports.md."""

    # The entity's, from the seed `entities` (ExportSettings.netsuite_options).
    subsidiary: str = ""
    date_format: str = DEFAULT_DATE_FORMAT
    # number_name "1000 Operating Bank" (Use Account Numbers on), number "1000", name "Operating Bank",
    # or internal_id through `account_ids` (account code -> NetSuite internal id).
    account_reference: str = "number_name"
    account_ids: Mapping[str, str] = field(default_factory=dict)
    max_lines: int = MAX_LINES_PER_ENTRY
    carry_account_code: str = "1010"

    def __post_init__(self) -> None:
        if self.account_reference not in ACCOUNT_REFERENCES:
            raise ValueError(f"account_reference {self.account_reference!r} is not one of {', '.join(ACCOUNT_REFERENCES)}")


def netsuite_decimals(currency: str) -> int:
    return min(exponent(currency), MAX_DECIMALS)


def fits(amount_minor: int, currency: str) -> bool:
    """Whether NetSuite's 2 decimals hold the amount exactly (any USD or JPY amount; a KWD one ending in 0)."""
    return amount_minor % 10 ** (exponent(currency) - netsuite_decimals(currency)) == 0


def netsuite_text(amount_minor: int, currency: str) -> str:
    """The amount as NetSuite's file takes it: the currency's decimals, at most 2."""
    return format_decimals(amount_minor, currency, netsuite_decimals(currency))


def netsuite_amount(amount_minor: int, currency: str, external_id: str) -> Decimal:
    """The unsigned major amount NetSuite takes; refuses one that needs more than 2 decimals."""
    if not fits(amount_minor, currency):
        raise UnsupportedPrecisionError(_precision_message([external_id], currency))
    return to_major(abs(amount_minor), currency).quantize(Decimal(1).scaleb(-netsuite_decimals(currency)))


def _precision_message(external_ids: list[str], currency: str) -> str:
    return (
        f"{currency.upper()} has {exponent(currency)} decimals and NetSuite accepts at most {MAX_DECIMALS}; "
        f"refusing rather than rounding entry(ies) {', '.join(external_ids)}: export them with the SAP or generic target, "
        "or set NETSUITE_CURRENCY_POLICY (docs/exports.md)"
    )


def account_reference(line: JournalLine, options: NetSuiteOptions) -> str:
    number, _, name = (line.netsuite_account or f"{line.account_code} {line.account_name}").partition(" ")
    if options.account_reference == "number_name":
        return line.netsuite_account or f"{line.account_code} {line.account_name}"
    if options.account_reference == "number":
        return number
    if options.account_reference == "name":
        return name or line.account_name
    internal_id = options.account_ids.get(line.account_code)
    if not internal_id:
        raise AccountReferenceError(f"account {line.account_code} ({line.account_name}) has no NetSuite internal id in the configured account map")
    return internal_id


def split_entries(lines: list[JournalLine], options: NetSuiteOptions) -> list[JournalEntry]:
    """The entries NetSuite receives, split to its line limit."""
    return [part for entry in group_entries(lines) for part in split_entry(entry, options.max_lines, options.carry_account_code)]


def netsuite_entries(lines: list[JournalLine], options: NetSuiteOptions) -> list[JournalEntry]:
    """`split_entries`, refusing the whole file when an amount of any entry needs more than 2 decimals."""
    entries = split_entries(lines, options)
    refused: dict[str, list[str]] = {}
    for entry in entries:
        unfit = {
            currency: None
            for line in entry.lines
            for currency, amount in ((line.currency, line.amount_minor), (line.functional_currency, line.functional_amount_minor))
            if not fits(amount, currency)
        }
        for currency in unfit:
            refused.setdefault(currency, []).append(entry.external_id)
    if refused:
        raise UnsupportedPrecisionError("; ".join(_precision_message(ids, currency) for currency, ids in sorted(refused.items())))
    return entries


def write_csv(lines: list[JournalLine], path: Path, options: NetSuiteOptions) -> ExportedFile:
    """Write `lines` and prove the file, parsed back, equals the ledger per currency and account."""
    entries = netsuite_entries(lines, options)
    with atomic_write(path) as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(HEADER)
        for entry in entries:
            for line in entry.lines:
                amount = netsuite_text(abs(line.amount_minor), line.currency)
                functional = netsuite_text(abs(line.functional_amount_minor), line.functional_currency)
                writer.writerow(
                    (
                        entry.external_id,
                        line.accounting_date.strftime(options.date_format),
                        options.subsidiary,
                        line.currency.upper(),
                        format_rate(entry.exchange_rate),
                        line.memo,
                        account_reference(line, options),
                        amount if line.debit_minor else "",
                        amount if line.credit_minor else "",
                        line_text(line),
                        line.functional_currency.upper(),
                        functional if line.functional_amount_minor > 0 else "",
                        functional if line.functional_amount_minor < 0 else "",
                    )
                )
    accounts = {account_reference(line, options): line.account_code for line in lines}
    return prove_totals(path, read_lines(path, accounts), lines)


def read_lines(path: Path, account_codes: Mapping[str, str]) -> list[JournalLine]:
    """The file's rows parsed back, accounts mapped from their NetSuite reference to the ledger's code."""
    def signed(row: dict[str, str], debit: str, credit: str, currency: str) -> int:
        return (parse_major(row[debit], currency) if row[debit] else 0) - (parse_major(row[credit], currency) if row[credit] else 0)

    with path.open(newline="", encoding="utf-8") as stream:
        return [
            parsed_line(
                row["External ID"], row["Currency"].lower(), account_codes.get(row[ACCOUNT], row[ACCOUNT]),
                signed(row, DEBIT, CREDIT, row["Currency"]), row[FUNCTIONAL_CURRENCY].lower(),
                signed(row, FUNCTIONAL_DEBIT, FUNCTIONAL_CREDIT, row[FUNCTIONAL_CURRENCY]), detail_of(row[LINE_MEMO]),
            )
            for row in csv.DictReader(stream)
        ]
