"""ISO 20022 camt.052, camt.053 and camt.054 (any version, any namespace) into a ParsedStatement.

Own code on lxml, not `pycamt` (1.1.1): on the samples it raises on camt.054, turns debit
balances into floats, ignores PRCD opening balances, gives one row per `TxDtls` (a batch booking
becomes several "bank lines" the bank never booked) and keeps no line numbers. lxml gives every
element its source line; it parses here with entity expansion and network access off.

One statement line per `Ntry`, because that is what the bank booked and what a payout matches:
* amount: `Ntry/Amt` and its `Ccy`; direction from `CdtDbtInd` (a reversal, `RvslInd` true, is
  already booked with the opposite indicator);
* status: `Sts` (plain text up to v7, `Sts/Cd` from v8); booking date from `BookgDt`, value date
  from `ValDt` (`Dt`, or the calendar date of `DtTm` as written); pending entries without a
  booking date fall back to their value date;
* bank reference: `AcctSvcrRef`, else `NtryRef`; customer reference: the `EndToEndId`s of the
  entry's `TxDtls`, space-joined for batch bookings (`NOTPROVIDED` means none);
* text: every `TxDtls`' `RmtInf/Ustrd` and `RmtInf/Strd/CdtrRefInf/Ref`, then `AddtlTxInf`, then
  `Ntry/AddtlNtryInf`, joined with one space;
* transaction code: `BkTxCd/Domn` as DOMAIN/FAMILY/SUBFAMILY, else `BkTxCd/Prtry/Cd`.

Balances: OPBD and PRCD open, CLBD closes, ITBD is interim, xxAV are available. Per currency,
opening (OPBD, else PRCD) + booked entries = CLBD is checked, and so are the `TxsSummry` entry
counts and credit/debit sums (not `TtlNtries/Sum`: banks disagree whether it is gross or net;
Wise writes debit sums negative, read as their absolute value). Both are statement assertions,
see `totals`.

An amount in another currency than the account's (`Acct/Ccy`) is kept as the bank wrote it, with
a warning: ISO means `Ntry/Amt` to be in the account currency, but UBS's SPS 2.0 sample books a
EUR entry on a CHF account, so refusing would refuse real files. Such an amount cannot take part
in the balance check of the account currency.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
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
    located,
)
from ledger.sources.bank.source_file import SourceFile
from ledger.sources.bank.totals import assertion_warnings, signed_sum

Element = etree._Element

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


def parse_camt(source: SourceFile) -> ParsedStatement:
    reader = _CamtReader(source)
    format_name = reader.read()
    warnings = (*reader.warnings, *assertion_warnings(reader.checks))
    return source.parsed(format_name, reader.entries, reader.balances, reader.checks, warnings)


class _CamtReader:
    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.entries: list[StatementLine] = []
        self.balances: list[Balance] = []
        self.checks: list[ControlCheck] = []
        self.warnings: list[str] = []

    def read(self) -> FormatName:
        document = self._parse_xml()
        message = document[0] if len(document) else None
        if document.tag != "Document" or message is None or message.tag not in _MESSAGES:
            found = f"{document.tag}/{message.tag}" if message is not None else document.tag
            raise self.fail(document, f"{found} is not a camt.052, camt.053 or camt.054 bank-to-customer message")
        format_name, statement_tag = _MESSAGES[message.tag]
        statements = message.findall(statement_tag)
        if not statements:
            raise self.fail(message, f"the message has no {statement_tag} element")
        for statement in statements:
            self._statement(statement)
        return format_name

    def _parse_xml(self) -> Element:
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True, remove_pis=True
        )
        try:
            root = etree.fromstring(self.source.data, parser)
        except etree.XMLSyntaxError as error:
            raise BankStatementError(
                self.source.name, error.lineno, f"not well-formed XML ({error.msg}): the file is truncated or corrupt"
            ) from error
        # Versions and national variants (e.g. Austria's STUZZA) differ only in namespace: drop it.
        for element in root.iter():
            element.tag = etree.QName(element).localname
        return root

    def fail(self, element: Element, reason: str) -> BankStatementError:
        return BankStatementError(self.source.name, element.sourceline, reason, _path(element))

    def _at(self, element: Element) -> AbstractContextManager[None]:
        return located(self.source.name, element.sourceline, _path(element))

    def _statement(self, statement: Element) -> None:
        account_id = _text(statement, "Acct/Id/IBAN") or _text(statement, "Acct/Id/Othr/Id")
        if not account_id:
            raise self.fail(statement, "the statement names no account (Acct/Id/IBAN or Acct/Id/Othr/Id)")
        name = f"statement {_text(statement, 'Id') or account_id}"
        currency_element = statement.find("Acct/Ccy")
        account_currency = None
        if currency_element is not None:
            with self._at(currency_element):
                account_currency = parse_currency(currency_element.text or "")
        balances = [self._balance(element, account_id, account_currency) for element in statement.findall("Bal")]
        entries = [self._entry(element, account_id, account_currency) for element in statement.findall("Ntry")]
        self.balances.extend(balances)
        self.entries.extend(entries)
        self.checks.extend(_closing_balance_checks(name, balances, entries))
        summary = statement.find("TxsSummry")
        if summary is not None:
            currencies = {entry.currency for entry in entries} | ({account_currency} if account_currency else set())
            self.checks.extend(self._summary_checks(name, summary, entries, currencies))

    def _balance(self, element: Element, account_id: str, account_currency: str | None) -> Balance:
        code = _text(element, "Tp/CdOrPrtry/Cd") or _text(element, "Tp/CdOrPrtry/Prtry")
        if not code:
            raise self.fail(element, "the balance has no type (Tp/CdOrPrtry/Cd)")
        currency, amount = self._amount(element, account_currency)
        balance_date = self._date(element.find("Dt"))
        if balance_date is None:
            raise self.fail(element, "the balance has no date (Dt/Dt or Dt/DtTm)")
        signed = amount if self._direction(element) == "credit" else -amount
        return Balance(
            account_id, currency, _BALANCE_KINDS.get(code, "other"), code, signed, balance_date, element.sourceline
        )

    def _entry(self, entry: Element, account_id: str, account_currency: str | None) -> StatementLine:
        currency, amount = self._amount(entry, account_currency)
        status = self._status(entry)
        value_date = self._date(entry.find("ValDt"))
        booking_date = self._date(entry.find("BookgDt")) or (value_date if status != "booked" else None)
        if booking_date is None:
            raise self.fail(entry, "the entry has no booking date (BookgDt/Dt or BookgDt/DtTm)")
        details = entry.findall("NtryDtls/TxDtls")
        end_to_end_ids = [_text(detail, "Refs/EndToEndId") for detail in details]
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
            _text(entry, "AddtlNtryInf"),
        ]
        return StatementLine(
            account_id=account_id,
            booking_date=booking_date,
            value_date=value_date,
            amount_minor=amount,
            direction=self._direction(entry),
            currency=currency,
            status=status,
            bank_reference=_text(entry, "AcctSvcrRef") or _text(entry, "NtryRef"),
            customer_reference=" ".join(dict.fromkeys(i for i in end_to_end_ids if i and i != _NO_REFERENCE)) or None,
            transaction_code=_transaction_code(entry),
            text=" ".join(text for text in texts if text),
            file_name=self.source.name,
            line=entry.sourceline,
            file_sha256=self.source.sha256,
        )

    def _amount(self, parent: Element, account_currency: str | None) -> tuple[str, int]:
        element = parent.find("Amt")
        if element is None:
            raise self.fail(parent, f"{parent.tag} has no Amt")
        with self._at(element):
            currency = parse_currency(element.get("Ccy", ""))
            amount = parse_decimal_amount((element.text or "").strip(), currency)
        if account_currency and currency != account_currency:
            self.warnings.append(
                f"line {element.sourceline} ({_path(element)}): amount in {currency.upper()} on an account kept in"
                f" {account_currency.upper()} (Acct/Ccy); it is kept in {currency.upper()} as written"
            )
        return currency, amount

    def _direction(self, parent: Element) -> Direction:
        indicator = _text(parent, "CdtDbtInd")
        if indicator not in _DIRECTIONS:
            raise self.fail(parent, f"CdtDbtInd is {indicator!r}, not CRDT or DBIT")
        return _DIRECTIONS[indicator]

    def _status(self, entry: Element) -> EntryStatus:
        element = entry.find("Sts")
        code = None if element is None else _text(element, "Cd") or (element.text or "").strip()
        if code not in _STATUSES:
            raise self.fail(entry, f"entry status (Sts) is {code!r}, not one of {', '.join(_STATUSES)}")
        return _STATUSES[code]

    def _date(self, parent: Element | None) -> date | None:
        if parent is None:
            return None
        element = parent.find("Dt")
        if element is None:
            element = parent.find("DtTm")
        if element is None:
            raise self.fail(parent, f"{parent.tag} has neither Dt nor DtTm")
        with self._at(element):
            return parse_iso_date(element.text or "")

    def _summary_checks(
        self, name: str, summary: Element, entries: list[StatementLine], currencies: set[str]
    ) -> list[ControlCheck]:
        checks = []
        for path, direction in (("TtlNtries", None), ("TtlCdtNtries", "credit"), ("TtlDbtNtries", "debit")):
            selected = [entry for entry in entries if direction in (None, entry.direction)]
            count = summary.find(f"{path}/NbOfNtries")
            if count is not None:
                with self._at(count):
                    stated = _whole_number(count.text or "")
                checks.append(ControlCheck(f"{name} entry count ({path})", count.sourceline, stated, len(selected)))
            total = summary.find(f"{path}/Sum")
            if direction and total is not None and len(currencies) == 1:
                with self._at(total):
                    stated = parse_decimal_amount((total.text or "").strip().lstrip("-"), next(iter(currencies)))
                computed = sum(entry.amount_minor for entry in selected)
                checks.append(ControlCheck(f"{name} {direction} sum ({path})", total.sourceline, stated, computed))
        return checks


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


def _transaction_code(entry: Element) -> str | None:
    domain = entry.find("BkTxCd/Domn")
    if domain is not None:
        parts = (_text(domain, "Cd"), _text(domain, "Fmly/Cd"), _text(domain, "Fmly/SubFmlyCd"))
        return "/".join(part for part in parts if part) or None
    return _text(entry, "BkTxCd/Prtry/Cd")


def _text(parent: Element, path: str) -> str | None:
    element = parent.find(path)
    text = (element.text or "").strip() if element is not None else ""
    return text or None


def _texts(parent: Element, path: str) -> list[str]:
    return [text for element in parent.findall(path) if (text := (element.text or "").strip())]


def _whole_number(text: str) -> int:
    if not text.strip().isdigit():
        raise ValueError(f"{text!r} is not a whole number")
    return int(text)


def _path(element: Element) -> str:
    return element.getroottree().getpath(element)
