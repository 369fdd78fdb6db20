"""SWIFT MT940 statements (and MT942 interim reports) into a ParsedStatement.

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date

from ledger.sources.bank.fields import parse_currency, parse_decimal_amount, parse_yymmdd
from ledger.sources.bank.model import (
    Balance,
    BalanceKind,
    BankStatementError,
    ControlCheck,
    Direction,
    ParsedStatement,
    StatementLine,
    located,
)
from ledger.sources.bank.source_file import SourceFile
from ledger.sources.bank.totals import assertion_warnings, signed_sum

_TAG = re.compile(r":(?P<tag>\d{2}[A-Z]?|NS):(?P<content>.*)")
_STATEMENT_END = re.compile(r"-(\}.*|XXX)?\s*")
_BALANCE = re.compile(r"(?P<mark>[CD])(?P<date>\d{6})(?P<currency>[A-Z]{3})(?P<amount>[\d,.]+)")
_ENTRY = re.compile(
    r"(?P<value_date>\d{6})(?P<entry_date>\d{4}| {4})?(?P<mark>RC|RD|EC|ED|C|D)(?P<funds_code>[A-Z])?"
    r"(?P<amount>\d[\d,.]*)(?P<type>[SNF][A-Z0-9 ]{3})(?P<customer_reference>.*?)(?://(?P<bank_reference>.*))?"
)
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
_KNOWN_TAGS = {"20", "21", "25", "28", "28C", "13", "13D", "34F", "90D", "90C", "61", "86", "NS", *_BALANCE_TAGS}
_NO_REFERENCE = "NONREF"


@dataclass
class _Field:
    """One tag and its lines, as (line number, text) pairs; the first holds the text after the tag."""

    tag: str
    lines: list[tuple[int, str]]

    @property
    def line(self) -> int:
        return self.lines[0][0]


@dataclass
class _Statement:
    line: int
    fields: list[_Field] = field(default_factory=list)


def parse_mt940(source: SourceFile) -> ParsedStatement:
    entries: list[StatementLine] = []
    balances: list[Balance] = []
    checks: list[ControlCheck] = []
    for statement in _split_statements(source):
        reader = _StatementReader(source, statement)
        reader.read()
        entries.extend(reader.entries)
        balances.extend(reader.balances)
        checks.append(reader.closing_balance_check())
    if not checks:
        raise BankStatementError(source.name, None, "no MT940 statement (a :20: tag) in the file")
    return source.parsed("mt940", entries, balances, checks, assertion_warnings(checks))


def _split_statements(source: SourceFile) -> list[_Statement]:
    statements: list[_Statement] = []
    current: _Statement | None = None
    lines = _join_split_tags(source.numbered_lines())
    for number, raw in lines:
        text = raw.strip("\x01\x03")
        tag = _TAG.fullmatch(text.rstrip())
        if tag and tag["tag"] not in _KNOWN_TAGS:
            raise BankStatementError(source.name, number, f"unknown MT940 tag :{tag['tag']}:")
        if tag and tag["tag"] == "20":
            current = _Statement(number)
            statements.append(current)
        if current is None:
            if tag:
                raise BankStatementError(
                    source.name,
                    number,
                    f":{tag['tag']}: before any :20: — the file is a fragment, not a whole MT940 statement",
                )
            continue  # envelope before the first statement
        if tag:
            current.fields.append(_Field(tag["tag"], [(number, tag["content"])]))
        elif _STATEMENT_END.fullmatch(text):
            current = None
        elif text.strip() and current.fields[-1].tag in _MULTI_LINE_TAGS:
            current.fields[-1].lines.append((number, text))
        elif text.strip():
            raise BankStatementError(
                source.name, number, f"unexpected text {text.strip()[:30]!r} after :{current.fields[-1].tag}:"
            )
    return statements


def _join_split_tags(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Sparkasse writes ':' on one line and '86:...' on the next; put the tag back together."""
    joined: list[tuple[int, str]] = []
    for number, text in lines:
        if joined and joined[-1][1].strip() == ":" and re.match(r"\d{2}[A-Z]?:", text):
            joined[-1] = (joined[-1][0], ":" + text)
        else:
            joined.append((number, text))
    return joined


@dataclass
class _StatementReader:
    source: SourceFile
    statement: _Statement
    account_id: str | None = None
    currency: str | None = None
    balances: list[Balance] = field(default_factory=list)
    entries: list[StatementLine] = field(default_factory=list)

    def fail(self, line: int, reason: str) -> BankStatementError:
        return BankStatementError(self.source.name, line, reason)

    def read(self) -> None:
        previous_tag = None
        for tag_field in self.statement.fields:
            with located(self.source.name, tag_field.line):
                self._read_field(tag_field, previous_tag)
            previous_tag = tag_field.tag

    def _read_field(self, tag_field: _Field, previous_tag: str | None) -> None:
        content = tag_field.lines[0][1].strip()
        if tag_field.tag == "25":
            self.account_id = content
        elif tag_field.tag in _BALANCE_TAGS:
            self.balances.append(self._balance(tag_field, content))
        elif tag_field.tag == "61":
            self._entry(tag_field)
        elif tag_field.tag in ("86", "NS") and previous_tag in ("61", "86", "NS"):
            last = self.entries[-1]
            self.entries[-1] = replace(last, text=" ".join(filter(None, (last.text, _field_text(tag_field)))))

    def _balance(self, tag_field: _Field, content: str) -> Balance:
        match = _BALANCE.fullmatch(content)
        if not match:
            raise ValueError(f":{tag_field.tag}: {content!r} is not a balance (C|D, YYMMDD, currency, amount)")
        currency = parse_currency(match["currency"])
        if self.currency is None:
            self.currency = currency
        elif currency != self.currency:
            raise ValueError(
                f":{tag_field.tag}: is in {currency.upper()} but this statement's balances are in"
                f" {self.currency.upper()}: mixed currencies in one MT940 statement"
            )
        amount = parse_decimal_amount(match["amount"], currency, ",")
        return Balance(
            account_id=self._account_id(tag_field.line),
            currency=currency,
            kind=_BALANCE_TAGS[tag_field.tag],
            code=tag_field.tag,
            amount_minor=amount if match["mark"] == "C" else -amount,
            date=parse_yymmdd(match["date"]),
            line=tag_field.line,
        )

    def _entry(self, tag_field: _Field) -> None:
        lines = [text.strip() for _, text in tag_field.lines]
        match = _ENTRY.fullmatch(lines[0])
        if not match and len(lines) > 1:
            match = _ENTRY.fullmatch(lines[0] + lines[1])
            lines = [lines[0] + lines[1], *lines[2:]]
        if not match:
            raise ValueError(f":61: {lines[0]!r} is not a statement line (YYMMDD[MMDD]C|D amount type reference)")
        if self.currency is None or not any(b.kind == "opening" for b in self.balances):
            raise ValueError(":61: before the opening balance :60F:/:60M: that gives the statement's currency")
        value_date = parse_yymmdd(match["value_date"])
        customer_reference = match["customer_reference"].strip()
        bank_reference = (match["bank_reference"] or "").strip()
        self.entries.append(
            StatementLine(
                account_id=self._account_id(tag_field.line),
                booking_date=_entry_date(match["entry_date"], value_date),
                value_date=value_date,
                amount_minor=parse_decimal_amount(match["amount"], self.currency, ","),
                direction=_DIRECTIONS[match["mark"]],
                currency=self.currency,
                status="booked",
                bank_reference=bank_reference if bank_reference not in ("", _NO_REFERENCE) else None,
                customer_reference=customer_reference if customer_reference not in ("", _NO_REFERENCE) else None,
                transaction_code=match["type"].strip() or None,
                text=" ".join(lines[1:]),
                file_name=self.source.name,
                line=tag_field.line,
                file_sha256=self.source.sha256,
            )
        )

    def _account_id(self, line: int) -> str:
        if not self.account_id:
            raise self.fail(line, "no :25: account identification before this line")
        return self.account_id

    def closing_balance_check(self) -> ControlCheck:
        opening = next((b for b in self.balances if b.kind == "opening"), None)
        closing = next((b for b in self.balances if b.kind == "closing"), None)
        last_line = self.statement.fields[-1].lines[-1][0]
        if opening is None:
            raise self.fail(
                last_line, f"the statement opened at line {self.statement.line} has no opening balance :60F:/:60M:"
            )
        if closing is None:
            raise self.fail(
                last_line,
                f"the statement opened at line {self.statement.line} has no closing balance :62F:/:62M:"
                " — the file is truncated; ask the bank to send it again",
            )
        return ControlCheck(
            f"statement at line {self.statement.line} {closing.currency.upper()} closing balance (:{closing.code}:)",
            closing.line,
            closing.amount_minor,
            opening.amount_minor + signed_sum(self.entries),
        )


def _field_text(tag_field: _Field) -> str:
    lines = [text for _, text in tag_field.lines]
    if _STRUCTURED_86.match(lines[0]):
        return "".join(lines).strip()
    return " ".join(line.strip() for line in lines if line.strip())


def _entry_date(month_day: str | None, value_date: date) -> date:
    """The MMDD entry date in the year that puts it closest to the value date."""
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
