"""BAI2 cash-management files (US and Canadian banks) into a ParsedStatement.

Own code, not the `bai2` package (ministryofjustice/bai2 0.15.0): on the sample files it fails
on 03 summary lists continued in 88 records (the BAI specification's own example, moov-io
sample2: "Type code '190500000' is not supported yet") and it reports no line numbers, which
every statement line and error here carries. The format is small enough to read exactly here.

Reading rules (BAI2 version 2):
* A logical record is a physical record plus the 88 records continuing it. Fields are separated
  by commas; one trailing "/" ends a physical record (some banks leave it out).
* Amounts are whole numbers of minor units (implied decimals per currency: JPY 0, KWD 3).
  03 amounts are signed; 16 amounts are not: a detail's direction comes from its type code,
  100-399 credit, 400-699 debit. Other codes (status 0xx, loans 7xx, bank-defined 9xx) have no
  defined direction and are refused rather than guessed.
* A 16 record's free text runs to the end of the line, commas included, and continues in 88
  records; the pieces are joined with one space.
* Funds type V carries a value date and time, S three availability amounts, D a count of
  (days, amount) pairs; they shift the references that follow, so they are read, not skipped.
* A detail's booking date is its group's as-of date; its value date is the V date if given.
* Currency: the 03 record's, else the 02 group's, else USD (the specification's default).
* Control totals: 49 = the account's 03 and 16 amounts, 98 = its accounts, 99 = its groups;
  record counts include 88 continuations and the trailer itself. See `totals` for what a
  mismatch does.

Tolerated because real banks send them: an empty type-code slot in an 03 summary list is skipped
one field at a time (Goldman Sachs leads with an all-empty slot, SVB ends lines with a surplus
",/"); the 01 creation time is not read (NatWest writes "14:59:35"); 01 dates in YYYYMMDD.
Tolerated with a warning (`deviations`): a 49 trailer with a blank control total (not checked;
the 98 and 99 totals still cover the account's amounts), and control bytes after the last record
(a DOS SUB). The file is read lazily, one logical record at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from ledger.sources.bank.deviations import Deviations
from ledger.sources.bank.fields import parse_currency, parse_yymmdd
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
from ledger.sources.bank.totals import ControlTotalPolicy, enforce_checksums

_RECORD_CODES = {"01", "02", "03", "16", "88", "49", "98", "99"}
_BALANCE_KINDS: dict[str, BalanceKind] = {
    "010": "opening",
    "015": "closing",
    "040": "available",
    "045": "available",
    "060": "available",
}
_PLAIN_FUNDS_TYPES = {"", "0", "1", "2", "Z"}
_SIGNED_INTEGER = re.compile(r"[+-]?\d+")
_UNSIGNED_INTEGER = re.compile(r"\+?\d+")
_TYPE_CODE = re.compile(r"\d{3}")


@dataclass(frozen=True)
class _Record:
    """One logical record: the physical record and the bodies of the 88 records continuing it."""

    code: str
    lines: tuple[int, ...]
    bodies: tuple[str, ...]

    @property
    def line(self) -> int:
        return self.lines[0]


class _FieldReader:
    """Reads a logical record's comma-separated fields across its 88 continuations."""

    def __init__(self, bodies: tuple[str, ...]) -> None:
        self._bodies = bodies
        self._index = 0
        self._position: int | None = 0  # None once the current body is used up

    def next(self) -> str:
        while self._index < len(self._bodies):
            if self._position is not None:
                body = self._bodies[self._index]
                comma = body.find(",", self._position)
                if comma < 0:
                    value, self._position = body[self._position :], None
                else:
                    value, self._position = body[self._position : comma], comma + 1
                return value.strip()
            self._index += 1
            self._position = 0
        return ""  # fields left out at the end of a record are defaulted

    def at_end(self) -> bool:
        last = len(self._bodies) - 1
        return self._index > last or (self._index == last and self._position is None)

    def rest_as_text(self) -> str:
        pieces = list(self._bodies[self._index + 1 :])
        if self._index < len(self._bodies) and self._position is not None:
            pieces.insert(0, self._bodies[self._index][self._position :])
        return " ".join(piece.strip() for piece in pieces if piece.strip())


@dataclass
class _Scope:
    """An open 01 file, 02 group or 03 account: what its trailer will be checked against."""

    name: str
    line: int
    total: int = 0
    records: int = 0
    children: int = 0


@dataclass
class _Group:
    scope: _Scope
    as_of: date
    currency: str | None


@dataclass
class _Account:
    scope: _Scope
    account_id: str
    currency: str


@dataclass
class _Bai2Reader:
    source: SourceFile
    deviations: Deviations
    entries: list[StatementLine] = field(default_factory=list)
    balances: list[Balance] = field(default_factory=list)
    checks: list[ControlCheck] = field(default_factory=list)
    file: _Scope | None = None
    group: _Group | None = None
    account: _Account | None = None
    finished: bool = False

    def fail(self, line: int, reason: str) -> BankStatementError:
        return BankStatementError(self.source.name, line, reason)

    def read(self) -> None:
        # One try around the loop, not a context manager per record: this runs once per record of the file.
        record: _Record | None = None
        try:
            for record in self._records():
                self._dispatch(record)
        except BankStatementError:
            raise
        except ValueError as error:
            assert record is not None
            raise self.fail(record.line, str(error)) from error
        if record is None:
            raise self.fail(1, "the file is empty")
        if not self.finished:
            raise self.fail(record.lines[-1], self._truncation_reason())

    def _records(self) -> Iterator[_Record]:
        """Each logical record once the next record shows it has no more 88 continuations."""
        held: tuple[str, list[int], list[str]] | None = None
        for number, raw in read_lines(self.source, self.deviations):
            line = raw.rstrip()
            if not line:
                continue
            code, _, body = line.partition(",")
            if code not in _RECORD_CODES:
                raise self.fail(
                    number, f"{line[:20]!r} does not start with a BAI2 record code (01, 02, 03, 16, 88, 49, 98, 99)"
                )
            body = body[:-1] if body.endswith("/") else body
            if code == "88":
                if held is None:
                    raise self.fail(number, "an 88 continuation record has no record before it to continue")
                held[1].append(number)
                held[2].append(body)
                continue
            if held is not None:
                yield _Record(held[0], tuple(held[1]), tuple(held[2]))
            held = (code, [number], [body])
        if held is not None:
            yield _Record(held[0], tuple(held[1]), tuple(held[2]))

    def _dispatch(self, record: _Record) -> None:
        if self.finished:
            raise ValueError("a record follows the 99 file trailer; split concatenated files into one file each")
        if self.file is None and record.code != "01":
            raise ValueError(f"the file must start with an 01 file header, not {record.code}")
        handlers = {
            "01": self._file_header,
            "02": self._group_header,
            "03": self._account_header,
            "16": self._detail,
            "49": self._account_trailer,
            "98": self._group_trailer,
            "99": self._file_trailer,
        }
        handlers[record.code](record)

    def _count(self, record: _Record) -> None:
        open_scopes = (
            self.file,
            self.group.scope if self.group else None,
            self.account.scope if self.account else None,
        )
        for scope in open_scopes:
            if scope is not None:
                scope.records += len(record.bodies)

    def _plain_fields(self, record: _Record) -> _FieldReader:
        for line, body in zip(record.lines, record.bodies, strict=True):
            if "/" in body:
                raise self.fail(
                    line,
                    f"text after the '/' that ends a {record.code} record: several records on one line"
                    " are not supported, put each record on its own line",
                )
        return _FieldReader(record.bodies)

    def _file_header(self, record: _Record) -> None:
        if self.file is not None:
            raise ValueError("a second 01 file header: split concatenated files into one file each")
        fields = self._plain_fields(record)
        _sender, _receiver, created, _time, _file_id, _length, _block, version = (fields.next() for _ in range(8))
        if version != "2":
            raise ValueError(f"BAI version {version!r}: only version 2 files can be read")
        _check_creation_date(created)
        self.file = _Scope("file", record.line)
        self._count(record)

    def _group_header(self, record: _Record) -> None:
        if self.group is not None:
            raise ValueError(
                f"02 group header inside the group opened at line {self.group.scope.line}, whose 98 trailer is missing"
            )
        fields = self._plain_fields(record)
        _receiver, _originator, _status, as_of, _time, currency = (fields.next() for _ in range(6))
        assert self.file is not None
        self.file.children += 1
        self.group = _Group(
            _Scope(f"group {as_of}", record.line), parse_yymmdd(as_of), parse_currency(currency) if currency else None
        )
        self._count(record)

    def _account_header(self, record: _Record) -> None:
        group = self._require_group(record)
        self._require_account_closed(record)
        fields = self._plain_fields(record)
        account_id = fields.next()
        if not account_id:
            raise ValueError("the 03 record has no account number")
        currency_field = fields.next()
        currency = parse_currency(currency_field) if currency_field else group.currency or "usd"
        group.scope.children += 1
        self.account = _Account(_Scope(f"account {account_id}", record.line), account_id, currency)
        self._count(record)
        while not fields.at_end():
            type_code = fields.next()
            if not type_code:
                continue
            _require_type_code(type_code)
            amount_text, item_count = fields.next(), fields.next()
            _read_funds_type(fields)
            if item_count and not item_count.isdigit():
                raise ValueError(f"item count {item_count!r} of summary {type_code} is not a number")
            if not amount_text:
                continue
            amount = _integer(amount_text, _SIGNED_INTEGER, f"amount of summary {type_code}")
            self.account.scope.total += amount
            if type_code in _BALANCE_KINDS:
                self.balances.append(
                    Balance(
                        account_id, currency, _BALANCE_KINDS[type_code], type_code, amount, group.as_of, record.line
                    )
                )

    def _detail(self, record: _Record) -> None:
        group, account = self._require_account(record)
        self._count(record)
        fields = _FieldReader(record.bodies)
        type_code = fields.next()
        _require_type_code(type_code)
        amount = _integer(
            fields.next(), _UNSIGNED_INTEGER, "detail amount (unsigned, direction comes from the type code)"
        )
        value_date = _read_funds_type(fields) or group.as_of
        bank_reference, customer_reference = fields.next(), fields.next()
        account.scope.total += amount
        self.entries.append(
            StatementLine(
                account_id=account.account_id,
                booking_date=group.as_of,
                value_date=value_date,
                amount_minor=amount,
                direction=_direction(type_code),
                currency=account.currency,
                status="booked",
                bank_reference=bank_reference or None,
                customer_reference=customer_reference or None,
                transaction_code=type_code,
                text=fields.rest_as_text(),
                file_name=self.source.name,
                line=record.line,
                file_sha256=self.source.sha256,
            )
        )

    def _account_trailer(self, record: _Record) -> None:
        group, account = self._require_account(record)
        self._count(record)
        fields = self._plain_fields(record)
        total, count = fields.next(), fields.next()
        if not total:
            self.deviations.add(
                record.line,
                "a 49 account trailer without a control total: the account's total is not checked (its record"
                " count is, and the 98 and 99 totals include it)",
            )
        self._check(account.scope, "49", record.line, total or None, count)
        group.scope.total += account.scope.total
        self.account = None

    def _group_trailer(self, record: _Record) -> None:
        group = self._require_group(record)
        self._require_account_closed(record)
        self._count(record)
        fields = self._plain_fields(record)
        total, accounts, count = fields.next(), fields.next(), fields.next()
        self._check(group.scope, "98", record.line, total, count, ("account count", accounts))
        assert self.file is not None
        self.file.total += group.scope.total
        self.group = None

    def _file_trailer(self, record: _Record) -> None:
        if self.group is not None:
            raise ValueError(
                f"99 file trailer while the group opened at line {self.group.scope.line} has no 98 trailer"
            )
        assert self.file is not None
        self._count(record)
        fields = self._plain_fields(record)
        total, groups, count = fields.next(), fields.next(), fields.next()
        self._check(self.file, "99", record.line, total, count, ("group count", groups))
        self.finished = True

    def _check(
        self, scope: _Scope, code: str, line: int, total: str | None, count: str, children: tuple[str, str] | None = None
    ) -> None:
        """Record the stated figures against the computed ones; a total of None was left blank and is not checked."""
        stated = [("record count", count, scope.records)]
        if total is not None:
            stated.insert(0, ("control total", total, scope.total))
        if children:
            stated.append((children[0], children[1], scope.children))
        for what, text, computed in stated:
            value = _integer(text, _SIGNED_INTEGER, f"{what} of the {code} record")
            self.checks.append(ControlCheck(f"{scope.name} {what} ({code} record)", line, value, computed))

    def _require_group(self, record: _Record) -> _Group:
        if self.group is None:
            raise ValueError(f"{record.code} record outside a group: an 02 group header must come first")
        return self.group

    def _require_account_closed(self, record: _Record) -> None:
        if self.account is not None:
            raise ValueError(
                f"{record.code} record while account {self.account.account_id} (03 at line {self.account.scope.line})"
                " has no 49 trailer"
            )

    def _require_account(self, record: _Record) -> tuple[_Group, _Account]:
        group = self._require_group(record)
        if self.account is None:
            raise ValueError(f"{record.code} record outside an account: an 03 account record must come first")
        return group, self.account

    def _truncation_reason(self) -> str:
        if self.account is not None:
            open_scope = f"account {self.account.account_id} (03 at line {self.account.scope.line}) has no 49 trailer"
        elif self.group is not None:
            open_scope = f"the group opened at line {self.group.scope.line} has no 98 trailer"
        else:
            open_scope = "there is no 99 file trailer"
        return f"the file ends early: {open_scope}. It is truncated; ask the bank to send it again"


def parse_bai2(source: SourceFile, control_totals: ControlTotalPolicy = "error") -> ParsedStatement:
    deviations = Deviations()
    reader = _Bai2Reader(source, deviations)
    reader.read()
    warnings = (*enforce_checksums(source.name, reader.checks, control_totals), *deviations.warnings())
    return source.parsed("bai2", reader.entries, reader.balances, reader.checks, warnings)


def _read_funds_type(fields: _FieldReader) -> date | None:
    """Consume a funds type and the fields it brings; return the value date of type V."""
    funds_type = fields.next().upper()
    if funds_type == "V":
        value_date = parse_yymmdd(fields.next())
        fields.next()  # value time, optional
        return value_date
    if funds_type == "S":
        for _ in range(3):
            _integer(fields.next() or "0", _SIGNED_INTEGER, "distributed availability amount (funds type S)")
    elif funds_type == "D":
        pairs = _integer(fields.next(), _UNSIGNED_INTEGER, "number of distributions (funds type D)")
        for _ in range(pairs):
            _integer(fields.next(), _UNSIGNED_INTEGER, "availability days (funds type D)")
            _integer(fields.next(), _SIGNED_INTEGER, "availability amount (funds type D)")
    elif funds_type not in _PLAIN_FUNDS_TYPES:
        raise ValueError(f"funds type {funds_type!r} is not one of 0, 1, 2, V, S, D, Z")
    return None


def _require_type_code(type_code: str) -> None:
    if not _TYPE_CODE.fullmatch(type_code):
        raise ValueError(f"type code {type_code!r} is not three digits")


def _direction(type_code: str) -> Direction:
    number = int(type_code)
    if 100 <= number <= 399:
        return "credit"
    if 400 <= number <= 699:
        return "debit"
    raise ValueError(
        f"type code {type_code} on a 16 detail has no defined direction (BAI2 credits are 100-399,"
        " debits 400-699); ask the bank which direction its code means"
    )


def _integer(text: str, shape: re.Pattern[str], what: str) -> int:
    if not shape.fullmatch(text):
        raise ValueError(f"{what} {text!r} is not a whole number (BAI2 amounts have no decimal point)")
    return int(text)


def _check_creation_date(text: str) -> None:
    """Refuse a garbled 01 header early; the date itself is not needed (YYMMDD, some banks YYYYMMDD)."""
    if len(text) != 8:
        parse_yymmdd(text)
        return
    try:
        datetime.strptime(text, "%Y%m%d")
    except ValueError:
        raise ValueError(f"file creation date {text!r} is not a calendar date (YYYYMMDD)") from None
