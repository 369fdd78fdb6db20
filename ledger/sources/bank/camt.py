"""ISO 20022 camt.052, camt.053 and camt.054 (any version, any camt namespace) into a ParsedStatement.

Own code on lxml, not `pycamt` (1.1.1): on the samples it raises on camt.054, turns debit
balances into floats, ignores PRCD opening balances, gives one row per `TxDtls` (a batch booking
becomes several "bank lines" the bank never booked) and keeps no line numbers. lxml gives every
element its source line; it parses here with entity expansion and network access off.

Streaming: `iterparse` hands over each `Bal`, `TxsSummry` and `Ntry` when its end tag is read,
and the element is dropped once read, so time and memory grow linearly with the file (a 50 MB
camt.053 of 61k entries: 7.3 CPU-s, 119 MiB; see docs/benchmarks.md). Element paths for messages
are built only when a message is written, from counters kept while reading, never with
`getpath` (which walks every preceding sibling: quadratic over a statement's entries).

One statement line per `Ntry`, because that is what the bank booked and what a payout matches:
* amount: `Ntry/Amt` and its `Ccy`; direction from `CdtDbtInd` (a reversal, `RvslInd` true, is
  already booked with the opposite indicator);
* status: `Sts` (plain text up to v7, `Sts/Cd` from v8); booking date from `BookgDt`, value date
  from `ValDt` (`Dt` with or without a time-zone suffix, or the calendar date of `DtTm`, both as
  written); pending entries without a booking date fall back to their value date;
* bank reference: `AcctSvcrRef`, else `NtryRef`, else the first of the transactions' `Refs`
  `AcctSvcrRef`, `EndToEndId`, `InstrId` that any `TxDtls` carries (space-joined for batch
  bookings), so that banks that reference only the transaction still de-duplicate across files;
  customer reference: the `EndToEndId`s of the entry's `TxDtls`, space-joined for batch
  bookings (`NOTPROVIDED` means none);
* text: every `TxDtls`' `RmtInf/Ustrd` and `RmtInf/Strd/CdtrRefInf/Ref`, then `AddtlTxInf`, then
  `Ntry/AddtlNtryInf`, joined with one space;
* transaction code: `BkTxCd/Domn` as DOMAIN/FAMILY/SUBFAMILY, else `BkTxCd/Prtry/Cd`.

Balances: OPBD and PRCD open, CLBD closes, ITBD is interim, xxAV are available. Per currency,
opening (OPBD, else PRCD) + booked entries = CLBD is a statement assertion (a warning when it
fails, see `totals`). The `TxsSummry` is a checksum over the entries of this very statement:
entry counts (`TtlNtries`, `TtlCdtNtries`, `TtlDbtNtries`), the credit and debit sums, and the
net total (`TtlNetNtry`, v2 `TtlNetNtryAmt`); a mismatch refuses the file unless the caller
accepts it (`control_totals="warn"`), as BAI2 control totals do. `TtlNtries/Sum` is not checked:
banks disagree whether it is gross or net (ING writes gross, Wise net), and Wise writes debit
sums negative, read as their absolute value.

An amount in another currency than the account's (`Acct/Ccy`) is kept as the bank wrote it, with
a warning: ISO means `Ntry/Amt` to be in the account currency, but UBS's SPS 2.0 sample books a
EUR entry on a CHF account, so refusing would refuse real files. Such an amount cannot take part
in the balance check of the account currency.

The namespace may be any camt one of the message's type (national variants such as Austria's
STUZZA `ISO:camt.053.001.02:APC:...` included) or none; a camt body under another message's
namespace (e.g. pain.001) is refused naming the namespace.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from lxml import etree

from ledger.sources.bank.fields import parse_currency, parse_decimal_amount, parse_iso_date
from ledger.sources.bank.model import (
    Balance,
    BalanceKind,
    BankStatementError,
    ControlCheck,
    Direction,
    EntryStatus,
    FormatName,
    ParsedStatement,
    StatementLine,
)
from ledger.sources.bank.source_file import SourceFile
from ledger.sources.bank.totals import ControlTotalPolicy, assertion_warnings, enforce_checksums, signed_sum

Element = etree._Element
_Index = dict[str, list[Element]]

_MESSAGES: dict[str, tuple[FormatName, str]] = {
    "BkToCstmrStmt": ("camt.053", "Stmt"),
    "BkToCstmrAcctRpt": ("camt.052", "Rpt"),
    "BkToCstmrDbtCdtNtfctn": ("camt.054", "Ntfctn"),
}
_STATUSES: dict[str, EntryStatus] = {"BOOK": "booked", "PDNG": "pending", "INFO": "info", "FUTR": "future"}
_DIRECTIONS: dict[str, Direction] = {"CRDT": "credit", "DBIT": "debit"}
_BALANCE_KINDS: dict[str, BalanceKind] = {
    "OPBD": "opening",
    "PRCD": "opening",
    "CLBD": "closing",
    "ITBD": "interim",
    "OPAV": "available",
    "CLAV": "available",
    "FWAV": "available",
    "ITAV": "available",
}
_NO_REFERENCE = "NOTPROVIDED"
_TRANSACTION_REFERENCES = ("Refs/AcctSvcrRef", "Refs/EndToEndId", "Refs/InstrId")
_STATEMENT_TAGS = tuple(statement_tag for _, statement_tag in _MESSAGES.values())
# Children of a statement that are read when complete and then dropped (the statement's Id with the first).
_STATEMENT_PARTS = ("Acct", "Bal", "TxsSummry", "Ntry")


def parse_camt(source: SourceFile, control_totals: ControlTotalPolicy = "error") -> ParsedStatement:
    reader = _CamtReader(source)
    format_name = reader.read()
    warnings = (
        *reader.warnings,
        *enforce_checksums(source.name, reader.checksums, control_totals),
        *assertion_warnings(reader.assertions),
    )
    return source.parsed(format_name, reader.entries, reader.balances, reader.checks, warnings)


@dataclass(frozen=True)
class _StatedFigure:
    """One figure of a `TxsSummry`, kept as written until the statement's entries are all read."""

    group: str  # TtlNtries, TtlCdtNtries, TtlDbtNtries or TtlNtries/TtlNetNtry
    direction: Direction | None  # the entries it covers; None: all of them
    kind: str  # count, sum or net
    line: int
    text: str


@dataclass
class _Statement:
    """What is known of the statement being read; its entries arrive one by one."""

    element: Element
    path: str
    account_id: str | None = None
    account_currency: str | None = None
    statement_id: str | None = None
    balances: list[Balance] = field(default_factory=list)
    summary: list[_StatedFigure] = field(default_factory=list)
    summary_path: str = ""
    entries: list[StatementLine] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"statement {self.statement_id or self.account_id}"

    def child_path(self, tag: str) -> str:
        """The path of the child just read: repeated children are counted, `Ntry[3]`."""
        self.counts[tag] = self.counts.get(tag, 0) + 1
        return f"{self.path}/{tag}[{self.counts[tag]}]"


class _CamtReader:
    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.entries: list[StatementLine] = []
        self.balances: list[Balance] = []
        self.checks: list[ControlCheck] = []  # all of them, in file order
        self.assertions: list[ControlCheck] = []  # closing balances: warnings when they fail
        self.checksums: list[ControlCheck] = []  # transaction summaries: refuse the file when they fail
        self.warnings: list[str] = []

    def read(self) -> FormatName:
        self.source.require_xml_encoding()
        events = etree.iterparse(
            io.BytesIO(self.source.data),
            # libxml2 tells UTF-8 and UTF-16 by their byte-order marks, but not UTF-32 by its own.
            encoding="UTF-32" if self.source.declared_encoding == "utf-32" else None,
            events=("start", "end"),
            tag=[f"{{*}}{tag}" for tag in (*_STATEMENT_TAGS, *_STATEMENT_PARTS)],
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            remove_comments=True,
            remove_pis=True,
        )
        try:
            return self._read_events(events)
        except etree.XMLSyntaxError as error:
            raise BankStatementError(
                self.source.name, error.lineno, f"not well-formed XML ({error.msg}): the file is truncated or corrupt"
            ) from error

    def _read_events(self, events: etree.iterparse) -> FormatName:
        message: Element | None = None
        format_name: FormatName | None = None
        statement_tag = ""
        statement: _Statement | None = None
        statement_count = 0
        for event, element in events:
            if message is None:
                message, format_name, statement_tag = self._message(element.getroottree().getroot())
            parent = element.getparent()
            tag = _local(element)
            if event == "start":
                if tag == statement_tag and parent is message:
                    statement_count += 1
                    statement = _Statement(element, f"/Document/{_local(message)}/{tag}[{statement_count}]")
            elif statement is not None and parent is statement.element:
                self._statement_part(statement, element, tag)
                _drop(element)
            elif statement is not None and element is statement.element:
                self._finish_statement(statement)
                statement = None
                _drop(element)
        if message is None:  # not one element of interest: not a bank-to-customer message at all
            message, format_name, statement_tag = self._message(events.root)
        if not statement_count:
            raise self.fail(message, f"the message has no {statement_tag} element", f"/Document/{_local(message)}")
        assert format_name is not None
        return format_name

    def _message(self, root: Element) -> tuple[Element, FormatName, str]:
        message = root[0] if len(root) else None
        if _local(root) != "Document" or message is None:
            raise self.fail(root, f"{_local(root)} is not a camt.052, camt.053 or camt.054 document")
        tag = _local(message)
        if tag not in _MESSAGES:
            raise self.fail(message, f"Document/{tag} is not a camt.052, camt.053 or camt.054 bank-to-customer message")
        format_name, statement_tag = _MESSAGES[tag]
        namespace = etree.QName(message).namespace
        if namespace is not None and format_name not in namespace:
            raise self.fail(
                message,
                f"{tag} under the namespace {namespace!r}, which is not a {format_name} namespace:"
                " the file is not a bank statement as ISO 20022 defines it",
            )
        return message, format_name, statement_tag

    def fail(self, element: Element, reason: str, path: str | None = None) -> BankStatementError:
        return BankStatementError(self.source.name, element.sourceline, reason, path)

    @contextmanager
    def _field(self, element: Element, path: str) -> Iterator[None]:
        """A field-level ValueError in the block refuses the file at `element`, named by `path`."""
        try:
            yield
        except BankStatementError:
            raise
        except ValueError as error:
            raise self.fail(element, str(error), path) from error

    def _statement_part(self, statement: _Statement, element: Element, tag: str) -> None:
        if not statement.counts:  # the first part read: the statement's Id before it is still there
            identifier = next((child for child in statement.element if _local(child) == "Id"), None)
            statement.statement_id = (identifier.text or "").strip() or None if identifier is not None else None
        path = statement.child_path(tag)
        index = _index(element)
        if tag == "Acct":
            statement.account_id = _text(index, "Id/IBAN") or _text(index, "Id/Othr/Id")
            currency_element = _first(index, "Ccy")
            if currency_element is not None:
                with self._field(currency_element, f"{path}/Ccy"):
                    statement.account_currency = parse_currency(currency_element.text or "")
        elif tag == "Bal":
            statement.balances.append(self._balance(statement, element, index, path))
        elif tag == "TxsSummry":
            statement.summary, statement.summary_path = _summary(index), path
        else:
            statement.entries.append(self._entry(statement, element, index, path))

    def _account(self, statement: _Statement) -> str:
        if not statement.account_id:
            raise self.fail(
                statement.element, "the statement names no account (Acct/Id/IBAN or Acct/Id/Othr/Id)", statement.path
            )
        return statement.account_id

    def _finish_statement(self, statement: _Statement) -> None:
        self._account(statement)
        self.balances.extend(statement.balances)
        self.entries.extend(statement.entries)
        assertions = _closing_balance_checks(statement.name, statement.balances, statement.entries)
        currencies = {entry.currency for entry in statement.entries}
        if statement.account_currency:
            currencies.add(statement.account_currency)
        checksums = self._summary_checks(statement, currencies)
        self.assertions.extend(assertions)
        self.checksums.extend(checksums)
        self.checks.extend((*assertions, *checksums))

    def _balance(self, statement: _Statement, element: Element, index: _Index, path: str) -> Balance:
        account_id = self._account(statement)
        code = _text(index, "Tp/CdOrPrtry/Cd") or _text(index, "Tp/CdOrPrtry/Prtry")
        if not code:
            raise self.fail(element, "the balance has no type (Tp/CdOrPrtry/Cd)", path)
        currency, amount = self._amount(element, index, path, statement.account_currency)
        balance_date = self._date(index, "Dt", path)
        if balance_date is None:
            raise self.fail(element, "the balance has no date (Dt/Dt or Dt/DtTm)", path)
        signed = amount if self._direction(element, index, path) == "credit" else -amount
        return Balance(
            account_id, currency, _BALANCE_KINDS.get(code, "other"), code, signed, balance_date, element.sourceline
        )

    def _entry(self, statement: _Statement, entry: Element, index: _Index, path: str) -> StatementLine:
        account_id = self._account(statement)
        currency, amount = self._amount(entry, index, path, statement.account_currency)
        status = self._status(entry, index, path)
        value_date = self._date(index, "ValDt", path)
        booking_date = self._date(index, "BookgDt", path) or (value_date if status != "booked" else None)
        if booking_date is None:
            raise self.fail(entry, "the entry has no booking date (BookgDt/Dt or BookgDt/DtTm)", path)
        details = [_index(detail) for detail in index.get("NtryDtls/TxDtls", ())]
        texts = [
            *(
                value
                for detail in details
                for value in (
                    *_texts(detail, "RmtInf/Ustrd"),
                    *_texts(detail, "RmtInf/Strd/CdtrRefInf/Ref"),
                    _text(detail, "AddtlTxInf"),
                )
            ),
            _text(index, "AddtlNtryInf"),
        ]
        return StatementLine(
            account_id=account_id,
            booking_date=booking_date,
            value_date=value_date,
            amount_minor=amount,
            direction=self._direction(entry, index, path),
            currency=currency,
            status=status,
            bank_reference=_text(index, "AcctSvcrRef") or _text(index, "NtryRef") or _transaction_reference(details),
            customer_reference=_joined_references(details, "Refs/EndToEndId"),
            transaction_code=_transaction_code(index),
            text=" ".join(text for text in texts if text),
            file_name=self.source.name,
            line=entry.sourceline,
            file_sha256=self.source.sha256,
        )

    def _amount(self, parent: Element, index: _Index, path: str, account_currency: str | None) -> tuple[str, int]:
        element = _first(index, "Amt")
        if element is None:
            raise self.fail(parent, f"{_local(parent)} has no Amt", path)
        with self._field(element, f"{path}/Amt"):
            currency = parse_currency(element.get("Ccy", ""))
            amount = parse_decimal_amount((element.text or "").strip(), currency)
        if account_currency and currency != account_currency:
            self.warnings.append(
                f"line {element.sourceline} ({path}/Amt): amount in {currency.upper()} on an account kept in"
                f" {account_currency.upper()} (Acct/Ccy); it is kept in {currency.upper()} as written"
            )
        return currency, amount

    def _direction(self, parent: Element, index: _Index, path: str) -> Direction:
        indicator = _text(index, "CdtDbtInd")
        if indicator not in _DIRECTIONS:
            raise self.fail(parent, f"CdtDbtInd is {indicator!r}, not CRDT or DBIT", path)
        return _DIRECTIONS[indicator]

    def _status(self, entry: Element, index: _Index, path: str) -> EntryStatus:
        code = _text(index, "Sts/Cd") or _text(index, "Sts")
        if code not in _STATUSES:
            raise self.fail(entry, f"entry status (Sts) is {code!r}, not one of {', '.join(_STATUSES)}", path)
        return _STATUSES[code]

    def _date(self, index: _Index, tag: str, path: str) -> date | None:
        holder = _first(index, tag)
        if holder is None:
            return None
        element, kind = _first(index, f"{tag}/Dt"), "Dt"
        if element is None:
            element, kind = _first(index, f"{tag}/DtTm"), "DtTm"
        if element is None:
            raise self.fail(holder, f"{tag} has neither Dt nor DtTm", f"{path}/{tag}")
        with self._field(element, f"{path}/{tag}/{kind}"):
            return parse_iso_date(element.text or "")

    def _summary_checks(self, statement: _Statement, currencies: set[str]) -> list[ControlCheck]:
        checks = []
        entries = statement.entries
        for figure in statement.summary:
            selected = [entry for entry in entries if figure.direction in (None, entry.direction)]
            if figure.kind == "count":
                with self._summary_field(figure, statement):
                    stated = _whole_number(figure.text)
                name = f"{statement.name} entry count ({figure.group})"
                checks.append(ControlCheck(name, figure.line, stated, len(selected)))
            elif len(currencies) == 1:
                with self._summary_field(figure, statement):
                    magnitude = parse_decimal_amount(figure.text.strip().lstrip("-"), next(iter(currencies)))
                if figure.kind == "sum":
                    name = f"{statement.name} {figure.direction} sum ({figure.group})"
                    checks.append(ControlCheck(name, figure.line, magnitude, sum(e.amount_minor for e in selected)))
                else:
                    stated = -magnitude if figure.text.startswith("-") else magnitude
                    name = f"{statement.name} net sum ({figure.group})"
                    net = sum(e.amount_minor if e.direction == "credit" else -e.amount_minor for e in selected)
                    checks.append(ControlCheck(name, figure.line, stated, net))
        return checks

    @contextmanager
    def _summary_field(self, figure: _StatedFigure, statement: _Statement) -> Iterator[None]:
        try:
            yield
        except ValueError as error:
            raise BankStatementError(self.source.name, figure.line, str(error), statement.summary_path) from error


def _closing_balance_checks(name: str, balances: list[Balance], entries: list[StatementLine]) -> list[ControlCheck]:
    checks = []
    for currency in dict.fromkeys(balance.currency for balance in balances):
        by_code = {b.code: b for b in reversed(balances) if b.currency == currency}  # first of each code wins
        opening = by_code.get("OPBD") or by_code.get("PRCD")
        closing = by_code.get("CLBD")
        if opening and closing:
            movement = signed_sum(entry for entry in entries if entry.currency == currency)
            checks.append(
                ControlCheck(
                    f"{name} {currency.upper()} closing balance (CLBD)",
                    closing.line,
                    closing.amount_minor,
                    opening.amount_minor + movement,
                )
            )
    return checks


def _summary(index: _Index) -> list[_StatedFigure]:
    """The stated figures of a `TxsSummry`, in file order."""
    stated = []
    groups: tuple[tuple[str, Direction | None], ...] = (
        ("TtlNtries", None),
        ("TtlCdtNtries", "credit"),
        ("TtlDbtNtries", "debit"),
    )
    for group, direction in groups:
        count = _first(index, f"{group}/NbOfNtries")
        if count is not None:
            stated.append(_StatedFigure(group, direction, "count", count.sourceline, count.text or ""))
        total = _first(index, f"{group}/Sum")
        if direction and total is not None:
            stated.append(_StatedFigure(group, direction, "sum", total.sourceline, total.text or ""))
    amount, indicator = _first(index, "TtlNtries/TtlNetNtry/Amt"), _first(index, "TtlNtries/TtlNetNtry/CdtDbtInd")
    if amount is None:  # camt v2 spells the net total as two siblings of NbOfNtries
        amount, indicator = _first(index, "TtlNtries/TtlNetNtryAmt"), _first(index, "TtlNtries/CdtDbtInd")
    if amount is not None:
        sign = "-" if indicator is not None and (indicator.text or "").strip() == "DBIT" else ""
        text = sign + (amount.text or "").strip()
        stated.append(_StatedFigure("TtlNtries/TtlNetNtry", None, "net", amount.sourceline, text))
    return sorted(stated, key=lambda figure: figure.line)


def _transaction_reference(details: list[_Index]) -> str | None:
    for path in _TRANSACTION_REFERENCES:
        reference = _joined_references(details, path)
        if reference:
            return reference
    return None


def _joined_references(details: list[_Index], path: str) -> str | None:
    found = (_text(detail, path) for detail in details)
    return " ".join(dict.fromkeys(r for r in found if r and r != _NO_REFERENCE)) or None


def _transaction_code(index: _Index) -> str | None:
    if _first(index, "BkTxCd/Domn") is not None:
        parts = (_text(index, f"BkTxCd/Domn/{path}") for path in ("Cd", "Fmly/Cd", "Fmly/SubFmlyCd"))
        return "/".join(part for part in parts if part) or None
    return _text(index, "BkTxCd/Prtry/Cd")


def _index(top: Element) -> _Index:
    """Every element below `top` by its path of local names ("BookgDt/Dt"), in document order.

    One walk per statement part; versions and national variants differ only in namespace, and a
    dictionary look-up is much cheaper than lxml's `find` on a path.
    """
    index: _Index = {}
    _walk(top, "", index)
    return index


def _walk(parent: Element, prefix: str, index: _Index) -> None:
    for child in parent:
        tag = child.tag
        if not isinstance(tag, str):  # an entity reference left unexpanded
            continue
        path = prefix + tag[tag.find("}") + 1 :]  # no namespace: find gives -1, the whole tag is kept
        found = index.get(path)
        if found is None:
            index[path] = [child]
        else:
            found.append(child)
        if len(child):
            _walk(child, path + "/", index)


def _first(index: _Index, path: str) -> Element | None:
    found = index.get(path)
    return found[0] if found else None


def _text(index: _Index, path: str) -> str | None:
    found = index.get(path)
    text = (found[0].text or "").strip() if found else ""
    return text or None


def _texts(index: _Index, path: str) -> list[str]:
    return [text for element in index.get(path, ()) if (text := (element.text or "").strip())]


def _whole_number(text: str) -> int:
    if not text.strip().isdigit():
        raise ValueError(f"{text!r} is not a whole number")
    return int(text)


def _local(element: Element) -> str:
    tag = element.tag
    return tag[tag.find("}") + 1 :]


def _drop(element: Element) -> None:
    """Free a part once read: its content, and the already-read siblings before it."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
