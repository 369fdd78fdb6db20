"""OFX and QFX (1.x SGML and 2.x XML) bank and credit-card statements into a ParsedStatement.

Own code, not a library. The two maintained candidates were rated on 2026-12-07:
* ofxtools 1.1.1 (released 2026-06, "Production/Stable", reads 1.x and 2.x) is GPL-3.0-only,
  which this Apache-2.0 project cannot depend on, and it is strict by design: it refuses files
  whose elements are out of the specification's order or too long (csingley/ofxtools#2, #78,
  #95) and headers banks really write (#47 no line breaks, #119), where a statement is still
  perfectly readable.
* ofxparse 0.21 (last release 2021-05, unmaintained) reads 1.x SGML leniently but often reads no
  header at all without saying so and crashes on the one-line header some banks write
  (jseutter/ofxparse#81, #160; an `ENCODING` value it does not know raises UnboundLocalError).
What a statement needs from OFX is small and the same in both versions, so one tokenizer reads
both: `<TAG>value` (SGML leaves have no end tag), `<TAG>...</TAG>` aggregates, XML end tags
tolerated on leaves. Every element keeps its line, so refusals name it.

One statement line per `STMTTRN` of each `STMTRS` (bank) or `CCSTMTRS` (credit card):
* account: `BANKACCTFROM/ACCTID` (`CCACCTFROM/ACCTID`); currency: the statement's `CURDEF`;
* amount: `TRNAMT`, signed (negative = debit), `.` or `,` as decimal separator;
* booking date: `DTPOSTED`, value date: `DTAVAIL`, both the calendar date as written;
* bank reference: `FITID` (the bank's id, the de-duplication key of every OFX importer);
  customer reference: `REFNUM`, else `CHECKNUM`; transaction code: `TRNTYPE`;
* text: `NAME` (or `PAYEE/NAME`) and `MEMO`, joined with one space.
`LEDGERBAL` is the closing balance and `AVAILBAL` the available one. OFX states no opening
balance and no totals, so no figure can be checked. A statement the bank marks as failed
(`STATUS/SEVERITY` ERROR) and a file that ends inside an aggregate (truncated) are refused.
1.x files are decoded as their header says (`CHARSET:1252` is Windows-1252); 2.x as XML says.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from ledger.sources.bank.fields import parse_currency, parse_decimal_amount
from ledger.sources.bank.model import Balance, BankStatementError, ParsedStatement, StatementLine, located
from ledger.sources.bank.source_file import SourceFile

_T = TypeVar("_T")
_TOKEN = re.compile(r"<(/?)([A-Za-z0-9_.]+)>([^<]*)")
_HEADER_FIELD = re.compile(r"([A-Z]+):([^\s<]*)")
_OFX_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{6}(\.\d+)?)?(\[[^\]]*\])?")
_STATEMENTS = {"STMTRS": "BANKACCTFROM", "CCSTMTRS": "CCACCTFROM"}
# Leaves read here: in SGML one written empty (`<MEMO>` and no value) must not open an aggregate.
_LEAVES = frozenset({"FITID", "NAME", "MEMO", "REFNUM", "CHECKNUM", "TRNTYPE", "DTAVAIL", "DTUSER", "SIC", "PAYEEID"})


@dataclass
class _Element:
    tag: str
    line: int
    text: str = ""  # a leaf's value
    children: list[_Element] = field(default_factory=list)

    def find(self, path: str) -> _Element | None:
        element: _Element | None = self
        for tag in path.split("/"):
            element = next((child for child in element.children if child.tag == tag), None) if element else None
        return element

    def value(self, path: str) -> str | None:
        element = self.find(path)
        return element.text if element is not None and element.text else None

    def iter(self, tag: str) -> list[_Element]:
        found = [child for child in self.children if child.tag == tag]
        for child in self.children:
            found.extend(child.iter(tag))
        return found


def parse_ofx(source: SourceFile) -> ParsedStatement:
    root = _read_tree(source)
    statements = [element for tag in _STATEMENTS for element in root.iter(tag)]
    if not statements:
        raise BankStatementError(
            source.name, root.line, "the file holds no bank or credit-card statement (STMTRS or CCSTMTRS)"
        )
    for status in root.iter("STATUS"):
        if (status.value("SEVERITY") or "").upper() == "ERROR":
            raise BankStatementError(
                source.name,
                status.line,
                f"the bank reports an error instead of a statement: code {status.value('CODE')}"
                + (f", {status.value('MESSAGE')}" if status.value("MESSAGE") else ""),
            )
    entries: list[StatementLine] = []
    balances: list[Balance] = []
    for statement in statements:
        account_id, currency = _account(source, statement)
        entries.extend(_entry(source, transaction, account_id, currency) for transaction in statement.iter("STMTTRN"))
        for tag, kind in (("LEDGERBAL", "closing"), ("AVAILBAL", "available")):
            balance = statement.find(tag)
            if balance is not None:
                amount = _read(source, balance, "BALAMT", lambda text: _signed_amount(text, currency))
                as_of = _read(source, balance, "DTASOF", _date)
                balances.append(Balance(account_id, currency, kind, tag, amount, as_of, balance.line))
    return source.parsed("ofx", entries, balances)


def _read_tree(source: SourceFile) -> _Element:
    text = _decoded(source)
    start = text.find("<OFX>")
    if start < 0:
        raise BankStatementError(source.name, 1, "no <OFX> element: not an OFX file, or cut off before its body")
    line = text.count("\n", 0, start) + 1
    root = _Element("OFX", line)
    open_elements = [root]
    position = start + len("<OFX>")
    for match in _TOKEN.finditer(text, position):
        line += text.count("\n", position, match.start())
        position = match.start()
        closing, tag, value = match.group(1), match.group(2).upper(), match.group(3).strip()
        if "&" in value:
            value = html.unescape(value)
        if closing:
            # An XML end tag of a leaf just read closes nothing; an aggregate's closes it and any leaf left open.
            depth = next((n for n in range(len(open_elements) - 1, -1, -1) if open_elements[n].tag == tag), None)
            if depth is None:
                if open_elements[-1].children and open_elements[-1].children[-1].tag == tag:
                    continue
                raise BankStatementError(source.name, line, f"</{tag}> closes nothing that is open")
            del open_elements[depth:]
            if not open_elements:
                return root
            continue
        element = _Element(tag, line, value)
        open_elements[-1].children.append(element)
        if not value and tag not in _LEAVES:
            open_elements.append(element)
    innermost = open_elements[-1]
    raise BankStatementError(
        source.name,
        text.count("\n") + 1,
        f"the file ends inside <{innermost.tag}> opened at line {innermost.line}: it is truncated",
    )


def _decoded(source: SourceFile) -> str:
    """1.x: as the SGML header says (CHARSET 1252 is Windows-1252); 2.x and others: as SourceFile decodes."""
    head = source.head()
    header = dict(_HEADER_FIELD.findall(head[: head.find("<OFX>")] if "<OFX>" in head else head))
    if header.get("CHARSET") == "1252" and header.get("ENCODING", "USASCII") != "UTF-8":
        try:
            return source.data.decode("cp1252")
        except UnicodeDecodeError as error:
            line = source.data.count(b"\n", 0, error.start) + 1
            raise BankStatementError(
                source.name, line, f"byte 0x{source.data[error.start]:02X} is not Windows-1252 text, the header's CHARSET"
            ) from None
    return source.text()


def _account(source: SourceFile, statement: _Element) -> tuple[str, str]:
    account_id = statement.value(f"{_STATEMENTS[statement.tag]}/ACCTID")
    if not account_id:
        raise BankStatementError(
            source.name, statement.line, f"the statement names no account ({_STATEMENTS[statement.tag]}/ACCTID)"
        )
    with located(source.name, statement.line, f"{statement.tag}/CURDEF"):
        currency = parse_currency(statement.value("CURDEF") or "")
    return account_id, currency


def _entry(source: SourceFile, transaction: _Element, account_id: str, currency: str) -> StatementLine:
    amount = _read(source, transaction, "TRNAMT", lambda text: _signed_amount(text, currency))
    booked = _read(source, transaction, "DTPOSTED", _date)
    available = _read(source, transaction, "DTAVAIL", _date) if transaction.value("DTAVAIL") else None
    texts = (transaction.value("NAME") or transaction.value("PAYEE/NAME"), transaction.value("MEMO"))
    return StatementLine(
        account_id=account_id,
        booking_date=booked,
        value_date=available,
        amount_minor=abs(amount),
        direction="debit" if amount < 0 else "credit",
        currency=currency,
        status="booked",
        bank_reference=transaction.value("FITID"),
        customer_reference=transaction.value("REFNUM") or transaction.value("CHECKNUM"),
        transaction_code=transaction.value("TRNTYPE"),
        text=" ".join(text for text in texts if text),
        file_name=source.name,
        line=transaction.line,
        file_sha256=source.sha256,
    )


def _read(source: SourceFile, parent: _Element, tag: str, read: Callable[[str], _T]) -> _T:
    """`read` applied to the leaf `tag` of `parent`; a refusal names the leaf's line (the parent's if it is missing)."""
    element = parent.find(tag)
    if element is None or not element.text:
        raise BankStatementError(source.name, parent.line, f"{parent.tag} has no {tag}", parent.tag)
    with located(source.name, element.line, f"{parent.tag}/{tag}"):
        return read(element.text)


def _signed_amount(text: str, currency: str) -> int:
    """Minor units of an OFX amount: optional sign, `.` or `,` as decimal separator."""
    unsigned = text.lstrip("+-")
    separator = "," if "," in unsigned and "." not in unsigned else "."
    amount = parse_decimal_amount(unsigned, currency, separator)
    return -amount if text.startswith("-") else amount


def _date(text: str) -> date:
    """The calendar date of an OFX date-time (YYYYMMDD[HHMMSS[.XXX]][[gmt offset:tz]]), as written."""
    match = _OFX_DATE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"date {text!r} is not an OFX date (YYYYMMDD...)")
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise ValueError(f"date {text!r} is not a calendar date") from None
