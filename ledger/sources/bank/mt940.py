"""SWIFT MT940 statements and MT942 interim reports into a ParsedStatement.

Own code, not `mt-940` (wolph, 5.1.1). That library reads the samples, but measured against them
it books RC (reversal of a credit, a debit by the SWIFT definition) as a credit, so the
betterplace statements stop balancing; it merges the statements of a file into one transaction
list (opening + entries = closing cannot be checked per statement); it keeps no line numbers;
and it is lenient by design (unknown lines glued to the previous tag, some inputs yield zero
transactions without an error, reference/bank.md section 2) where this pipeline needs
all-or-nothing.

Reading rules:
* A statement runs from `:20:` to a `-` line (`-}`, `-XXX`), the next `:20:`, or the end of the
  file. Lines outside statements are envelope and ignored (SWIFT `{1:...}` blocks, the ABN AMRO
  and ING header lines, mBank's SOH/ETX bytes); a `:61:` outside a statement is refused.
* `:25:` account, `:60F:`/`:60M:` opening and `:62F:`/`:62M:` closing balance are required; a
  statement without its closing balance is truncated. All balances of a statement share one
  currency, which is the entries' currency: a balance in another currency is refused.
* An MT942 interim report has no balances: its `:34F:` floor limit (`EURD0,` and optionally a
  second one for credits) gives the currency, and its optional `:90D:`/`:90C:` state the number
  and sum of its debits and credits. They are checksums over the very entries of the report, so
  a mismatch refuses the report unless `control_totals="warn"` (see `totals`). Its entries are
  booked (intraday), as camt.052's are; the end-of-day MT940 repeats them, and staging keeps one
  of each by bank reference.
* `:61:` is `YYMMDD[MMDD](C|D|RC|RD|EC|ED)[funds code]amount type customer-ref[//bank-ref]`
  plus an optional supplementary-details line. The entry date has no year: it takes the year
  that puts it closest to the value date (December/January). RC (reversal of a credit) is a
  debit, RD a credit. A missing entry date (Citi writes four spaces) makes the booking date the
  value date. `NONREF` and empty references are None. Sparkasse breaks the line inside the
  mandatory part; the first two lines are then read as one.
* Text is, in file order, the supplementary details, the `:86:` that follows the `:61:`, and
  Sberbank's non-SWIFT `:NS:` block. `:86:` lines of structured layouts (German `?20`
  subfields, `/TAG/` layouts) are fixed 65-column wraps that split words, so they are joined
  without a separator; free-text layouts are joined with one space.
* Opening + entries = closing is checked per statement; a gap is a warning (see `totals`).

Read with a warning (`deviations`) because real banks write them and the meaning is certain:
control bytes after the last line (a DOS SUB); amounts with '.' instead of ',' as the decimal
separator (a '.' with more decimals than the currency has stays refused: it may be grouping);
a `:61:` without its transaction type (`C83,25NONREF`: "NONR" is no SWIFT type, NONREF is the
empty reference), read with none; a bare `-` line inside a `:86:` text followed by more of the
same statement (`:61:`, `:86:`, a closing balance), read as text rather than as the end of the
statement.

The file is read lazily, one field at a time, so memory holds the parsed entries and the field
being read, not the file's million lines nor a long statement's fields.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from ledger.sources.bank.deviations import Deviations
from ledger.sources.bank.fields import parse_currency, parse_decimal_amount, parse_yymmdd
from ledger.sources.bank.model import (
    Balance,
    BalanceKind,
    BankStatementError,
    ControlCheck,
    Direction,
    ParsedStatement,
    StatementLine,
)
from ledger.sources.bank.source_file import SourceFile
from ledger.sources.bank.text_lines import read_lines
from ledger.sources.bank.totals import ControlTotalPolicy, assertion_warnings, enforce_checksums, signed_sum

_TAG = re.compile(r":(?P<tag>\d{2}[A-Z]?|NS):(?P<content>.*)")
_SPLIT_TAG = re.compile(r"\d{2}[A-Z]?:")
_STATEMENT_END = re.compile(r"-(\}.*|XXX)?\s*")
_BALANCE = re.compile(r"(?P<mark>[CD])(?P<date>\d{6})(?P<currency>[A-Z]{3})(?P<amount>[\d,.]+)")
_FLOOR_LIMIT = re.compile(r"(?P<currency>[A-Z]{3})(?P<mark>[CD])?(?P<amount>[\d,.]+)")
_ENTRY_TOTAL = re.compile(r"(?P<count>\d+)(?P<currency>[A-Z]{3})(?P<amount>[\d,.]+)")
_ENTRY_HEAD = r"(?P<value_date>\d{6})(?P<entry_date>\d{4}| {4})?(?P<mark>RC|RD|EC|ED|C|D)(?P<funds_code>[A-Z])?(?P<amount>\d[\d,.]*)"
_ENTRY_TAIL = r"(?P<customer_reference>.*?)(?://(?P<bank_reference>.*))?"
_ENTRY = re.compile(_ENTRY_HEAD + r"(?P<type>[SNF][A-Z0-9 ]{3})" + _ENTRY_TAIL)
_ENTRY_WITHOUT_TYPE = re.compile(_ENTRY_HEAD + r"(?P<type>)" + _ENTRY_TAIL)
_STRUCTURED_86 = re.compile(r"\d{3}\?|/[A-Z]{2,4}/")
_DIRECTIONS: dict[str, Direction] = {
    "C": "credit",
    "RD": "credit",
    "EC": "credit",
    "D": "debit",
    "RC": "debit",
    "ED": "debit",
}
_BALANCE_TAGS: dict[str, BalanceKind] = {
    "60F": "opening",
    "60M": "opening",
    "62F": "closing",
    "62M": "closing",
    "64": "available",
    "65": "available",
}
_MULTI_LINE_TAGS = {"61", "86", "NS", "28", "28C"}
_TEXT_TAGS = ("86", "NS")
# What may follow an :86: inside one statement: a bare "-" line before one of these is text, not the end.
_AFTER_86 = {"61", "86", "NS", "62F", "62M", "64", "65", "90D", "90C"}
_KNOWN_TAGS = {"20", "21", "25", "28", "28C", "13", "13D", "34F", "90D", "90C", "61", "86", "NS", *_BALANCE_TAGS}
_NO_REFERENCE = "NONREF"
_ENVELOPE_BYTES = "\x01\x03"  # SOH and ETX around a SWIFT message (mBank writes them)


@dataclass
class _Field:
    """One tag and its lines, as (line number, text) pairs; the first holds the text after the tag."""

    tag: str
    lines: list[tuple[int, str]]

    @property
    def line(self) -> int:
        return self.lines[0][0]


def parse_mt940(source: SourceFile, control_totals: ControlTotalPolicy = "error") -> ParsedStatement:
    """Every statement (MT940) and interim report (MT942) of the file; `control_totals` as for BAI2."""
    deviations = Deviations()
    entries: list[StatementLine] = []
    balances: list[Balance] = []
    checks: list[ControlCheck] = []  # in file order
    assertions: list[ControlCheck] = []  # closing balances (see `totals`)
    checksums: list[ControlCheck] = []  # MT942 :90D:/:90C:
    statements = 0
    reader: _StatementReader | None = None
    for item in _fields(source, deviations):
        if item is not None:
            if item.tag == "20":
                reader = _StatementReader(source, item.line, deviations)
            assert reader is not None
            reader.read_field(item)
            continue
        assert reader is not None
        reader.finish()
        statements += 1
        entries.extend(reader.entries)
        balances.extend(reader.balances)
        if reader.is_interim_report:
            statement_checks = reader.entry_total_checks()
            checksums.extend(statement_checks)
        else:
            statement_checks = [reader.closing_balance_check()]
            assertions.extend(statement_checks)
        checks.extend(statement_checks)
    if not statements:
        raise BankStatementError(source.name, None, "no MT940 statement (a :20: tag) in the file")
    warnings = (
        *enforce_checksums(source.name, checksums, control_totals),
        *assertion_warnings(assertions),
        *deviations.warnings(),
    )
    return source.parsed("mt940", entries, balances, checks, warnings)


def _fields(source: SourceFile, deviations: Deviations) -> Iterator[_Field | None]:
    """Each field of each statement once complete, in file order, and None after a statement's last.

    A statement starts with its :20: field; lines outside statements are envelope and skipped.
    Only the field being read is held, so a statement of any length streams through.
    """
    held: _Field | None = None  # the field being read, open to continuation lines; None outside statements
    dash_line: int | None = None  # a bare "-" after :86:, not yet known to end the statement
    for number, raw in _join_split_tags(read_lines(source, deviations, _ENVELOPE_BYTES)):
        text = raw.strip(_ENVELOPE_BYTES)
        stripped = text.strip()
        tag = _TAG.fullmatch(text.rstrip()) if stripped.startswith(":") else None
        if dash_line is not None and stripped:
            assert held is not None
            if tag and tag["tag"] in _AFTER_86:
                deviations.add(
                    dash_line,
                    "a line holding only '-' inside an :86: text, followed by more of the same statement:"
                    " read as part of the text, not as the end of the statement",
                )
                held.lines.append((dash_line, "-"))
            else:
                yield held
                yield None
                held = None
            dash_line = None
        if tag and tag["tag"] not in _KNOWN_TAGS:
            raise BankStatementError(source.name, number, f"unknown MT940 tag :{tag['tag']}:")
        if tag and tag["tag"] == "20" and held is not None:
            yield held  # the statement before ended without a "-" line
            yield None
            held = None
        if held is None:
            if tag and tag["tag"] != "20":
                raise BankStatementError(
                    source.name,
                    number,
                    f":{tag['tag']}: before any :20: — the file is a fragment, not a whole MT940 statement",
                )
            if not tag:
                continue  # envelope outside statements
        if tag:
            if held is not None:
                yield held
            held = _Field(tag["tag"], [(number, tag["content"])])
        elif stripped == "-" and held.tag == "86":
            dash_line = number
        elif _STATEMENT_END.fullmatch(text):
            yield held
            yield None
            held = None
        elif stripped and held.tag in _MULTI_LINE_TAGS:
            held.lines.append((number, text))
        elif stripped:
            raise BankStatementError(source.name, number, f"unexpected text {stripped[:30]!r} after :{held.tag}:")
    if held is not None:
        yield held
        yield None


def _join_split_tags(lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """Sparkasse writes ':' on one line and '86:...' on the next; put the tag back together."""
    held: tuple[int, str] | None = None
    for number, text in lines:
        if held is not None and _SPLIT_TAG.match(text):
            yield held[0], ":" + text
            held = None
            continue
        if held is not None:
            yield held
            held = None
        if text.strip() == ":":
            held = (number, text)
        else:
            yield number, text
    if held is not None:
        yield held


@dataclass
class _StatementReader:
    """One statement, read field by field as they stream in."""

    source: SourceFile
    line: int  # of its :20:
    deviations: Deviations
    last_line: int = 0
    account_id: str | None = None
    currency: str | None = None
    has_floor_limit: bool = False  # an MT942's :34F:, which gives the currency in place of a balance
    balances: list[Balance] = field(default_factory=list)
    entries: list[StatementLine] = field(default_factory=list)
    entry_totals: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # tag -> (line, count, sum)
    _pending: dict[str, Any] | None = None  # the last :61:, waiting for its :86: text
    _pending_text: list[str] = field(default_factory=list)

    def fail(self, line: int, reason: str) -> BankStatementError:
        return BankStatementError(self.source.name, line, reason)

    @property
    def is_interim_report(self) -> bool:
        """An MT942: a floor limit and no opening balance; its totals are :90D:/:90C:, not a closing balance."""
        return self.has_floor_limit and not any(b.kind == "opening" for b in self.balances)

    def read_field(self, tag_field: _Field) -> None:
        self.last_line = tag_field.lines[-1][0]
        try:
            self._read_field(tag_field)
        except BankStatementError:
            raise
        except ValueError as error:
            raise self.fail(tag_field.line, str(error)) from error

    def finish(self) -> None:
        """The statement has ended: its last entry is complete."""
        self._finish_entry()

    def _read_field(self, tag_field: _Field) -> None:
        tag = tag_field.tag
        if tag in _TEXT_TAGS:
            if self._pending is not None:
                self._pending_text.append(_field_text(tag_field))
            return
        self._finish_entry()
        content = tag_field.lines[0][1].strip()
        if tag == "61":
            self._entry(tag_field)
        elif tag == "25":
            self.account_id = content
        elif tag in _BALANCE_TAGS:
            self.balances.append(self._balance(tag_field, content))
        elif tag == "34F":
            self._floor_limit(content)
        elif tag in ("90D", "90C"):
            self._entry_total(tag_field, content)

    def _statement_currency(self, currency: str, tag: str) -> None:
        if self.currency is None:
            self.currency = currency
        elif currency != self.currency:
            raise ValueError(
                f":{tag}: is in {currency.upper()} but this statement's balances are in"
                f" {self.currency.upper()}: mixed currencies in one MT940 statement"
            )

    def _amount(self, text: str, line: int) -> int:
        assert self.currency is not None
        if "." in text and "," not in text:
            self.deviations.add(
                line, "amounts with '.' as the decimal separator (SWIFT writes ','): read as decimals"
            )
            return parse_decimal_amount(text, self.currency, ".")
        return parse_decimal_amount(text, self.currency, ",")

    def _balance(self, tag_field: _Field, content: str) -> Balance:
        match = _BALANCE.fullmatch(content)
        if not match:
            raise ValueError(f":{tag_field.tag}: {content!r} is not a balance (C|D, YYMMDD, currency, amount)")
        self._statement_currency(parse_currency(match["currency"]), tag_field.tag)
        amount = self._amount(match["amount"], tag_field.line)
        return Balance(
            account_id=self._account_id(tag_field.line),
            currency=self.currency,  # type: ignore[arg-type]
            kind=_BALANCE_TAGS[tag_field.tag],
            code=tag_field.tag,
            amount_minor=amount if match["mark"] == "C" else -amount,
            date=parse_yymmdd(match["date"]),
            line=tag_field.line,
        )

    def _floor_limit(self, content: str) -> None:
        match = _FLOOR_LIMIT.fullmatch(content)
        if not match:
            raise ValueError(f":34F: {content!r} is not a floor limit (currency, optional D|C, amount)")
        self._statement_currency(parse_currency(match["currency"]), "34F")
        self.has_floor_limit = True

    def _entry_total(self, tag_field: _Field, content: str) -> None:
        match = _ENTRY_TOTAL.fullmatch(content)
        if not match:
            raise ValueError(f":{tag_field.tag}: {content!r} is not a number and sum of entries (count, currency, amount)")
        self._statement_currency(parse_currency(match["currency"]), tag_field.tag)
        amount = self._amount(match["amount"], tag_field.line)
        self.entry_totals[tag_field.tag] = (tag_field.line, int(match["count"]), amount)

    def _entry(self, tag_field: _Field) -> None:
        line = tag_field.line
        lines = [text.strip() for _, text in tag_field.lines]
        match = _ENTRY.fullmatch(lines[0])
        if not match and len(lines) > 1:
            match = _ENTRY.fullmatch(lines[0] + lines[1])
            if match:
                lines = [lines[0] + lines[1], *lines[2:]]
        if match and (match["type"] + match["customer_reference"]).startswith(_NO_REFERENCE):
            match = None  # "NONREF" right after the amount: the type is missing, not "NONR"
        if not match:
            match = _ENTRY_WITHOUT_TYPE.fullmatch(lines[0])
            if match:
                self.deviations.add(
                    line, ":61: without a transaction type (such as NTRF) after the amount: read with none"
                )
        if not match:
            raise ValueError(f":61: {lines[0]!r} is not a statement line (YYMMDD[MMDD]C|D amount type reference)")
        if self.currency is None or not (self.has_floor_limit or any(b.kind == "opening" for b in self.balances)):
            raise ValueError(
                ":61: before the opening balance :60F:/:60M: (in an MT942, the floor limit :34F:)"
                " that gives the statement's currency"
            )
        value_date = parse_yymmdd(match["value_date"])
        customer_reference = match["customer_reference"].strip()
        bank_reference = (match["bank_reference"] or "").strip()
        self._pending = {
            "account_id": self._account_id(line),
            "booking_date": _entry_date(match["entry_date"], value_date),
            "value_date": value_date,
            "amount_minor": self._amount(match["amount"], line),
            "direction": _DIRECTIONS[match["mark"]],
            "currency": self.currency,
            "status": "booked",
            "bank_reference": bank_reference if bank_reference not in ("", _NO_REFERENCE) else None,
            "customer_reference": customer_reference if customer_reference not in ("", _NO_REFERENCE) else None,
            "transaction_code": sys.intern(match["type"].strip()) or None,
            "file_name": self.source.name,
            "line": line,
            "file_sha256": self.source.sha256,
        }
        self._pending_text = [" ".join(lines[1:])] if len(lines) > 1 else []

    def _finish_entry(self) -> None:
        if self._pending is not None:
            self.entries.append(StatementLine(text=" ".join(filter(None, self._pending_text)), **self._pending))
            self._pending = None

    def _account_id(self, line: int) -> str:
        if not self.account_id:
            raise self.fail(line, "no :25: account identification before this line")
        return self.account_id

    def closing_balance_check(self) -> ControlCheck:
        opening = next((b for b in self.balances if b.kind == "opening"), None)
        closing = next((b for b in self.balances if b.kind == "closing"), None)
        if opening is None:
            raise self.fail(
                self.last_line,
                f"the statement opened at line {self.line} has no opening balance :60F:/:60M:"
                " (nor, as an MT942 interim report would, a floor limit :34F:)",
            )
        if closing is None:
            raise self.fail(
                self.last_line,
                f"the statement opened at line {self.line} has no closing balance :62F:/:62M:"
                " — the file is truncated; ask the bank to send it again",
            )
        return ControlCheck(
            f"statement at line {self.line} {closing.currency.upper()} closing balance (:{closing.code}:)",
            closing.line,
            closing.amount_minor,
            opening.amount_minor + signed_sum(self.entries),
        )

    def entry_total_checks(self) -> list[ControlCheck]:
        """An MT942's :90D:/:90C: against its own debits and credits (none stated: nothing to check)."""
        assert self.currency is not None
        checks = []
        for tag, direction in (("90D", "debit"), ("90C", "credit")):
            if tag not in self.entry_totals:
                continue
            line, count, amount = self.entry_totals[tag]
            amounts = [e.amount_minor for e in self.entries if e.direction == direction]
            name = f"interim report at line {self.line} {self.currency.upper()} {direction}"
            checks.append(ControlCheck(f"{name} count (:{tag}:)", line, count, len(amounts)))
            checks.append(ControlCheck(f"{name} sum (:{tag}:)", line, amount, sum(amounts)))
        return checks


def _field_text(tag_field: _Field) -> str:
    lines = [text for _, text in tag_field.lines]
    if _STRUCTURED_86.match(lines[0]):
        return "".join(lines).strip()
    return " ".join(line.strip() for line in lines if line.strip())


@lru_cache(maxsize=4096)
def _entry_date(month_day: str | None, value_date: date) -> date:
    """The MMDD entry date in the year that puts it closest to the value date (cached: few distinct days)."""
    if not month_day or not month_day.strip():
        return value_date
    month, day = int(month_day[:2]), int(month_day[2:])
    candidates = []
    for year in (value_date.year - 1, value_date.year, value_date.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:
            continue  # 29 February exists only in leap years
    if not candidates:
        raise ValueError(f"entry date {month_day!r} (MMDD) is not a calendar date")
    return min(candidates, key=lambda candidate: abs(candidate - value_date))
