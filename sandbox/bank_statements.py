"""The bank statements on which the simulated merchant's Stripe payouts arrive: BAI2 and camt.053.

Same statements in, same bytes out. `ledger.sources.bank` reads both files back to exactly the
entries and balances written here (tested), so these writers only emit what those parsers read:

* BAI2: one group per booking date (the as-of date), holding every account whose statement
  period covers that day, with 010/015 ledger balances and 100/400 credit/debit summaries.
  Credits use type code 165 (Preauthorized ACH Credit, how US banks report a Stripe payout),
  debits 451 (ACH Debit Received, Stripe taking back a negative balance). Funds type 0, or V
  with the value date when it differs from the booking date. Records continue in 88 records
  where they would pass column 80; texts break at spaces.
* camt.053.001.02 (valid against the ISO schema): one `Stmt` per account with OPBD and CLBD and
  a `TxsSummry`, one booked `Ntry` per entry (bank transaction code PMNT/RCDT/DMCT for credits,
  PMNT/RDDT/PMDD for debits), the customer reference as `EndToEndId` (`NOTPROVIDED` when none)
  and the text in 140-character `Ustrd` lines, broken at spaces.

Texts must be single-spaced, because both parsers join continuation pieces with one space.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from ledger.money import format_major

BAI2_CREDIT_TYPE_CODE = "165"
BAI2_DEBIT_TYPE_CODE = "451"
BAI2_LINE_WIDTH = 80
CAMT053_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
CAMT_TEXT_WIDTH = 140  # Max140Text of RmtInf/Ustrd
CAMT_ID_WIDTH = 35  # Max35Text of MsgId, AcctSvcrRef, EndToEndId
CAMT_BANK_TRANSACTION_CODES = {"credit": ("PMNT", "RCDT", "DMCT"), "debit": ("PMNT", "RDDT", "PMDD")}
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Za-z0-9]{1,30}")


@dataclass(frozen=True)
class BankEntry:
    booking_date: date
    value_date: date
    amount_minor: int  # > 0
    direction: str  # "credit" | "debit"
    bank_reference: str
    customer_reference: str | None
    text: str  # e.g. "STRIPE TRANSFER ST-K3J9X2LQ8W1Z ACME ROBOTICS INC"


@dataclass(frozen=True)
class BankAccountStatement:
    account_id: str
    currency: str  # lower-case ISO, e.g. "usd", "eur", "jpy"
    date_from: date
    date_to: date
    opening_balance_minor: int
    entries: tuple[BankEntry, ...]


def write_bai2(
    statements: Sequence[BankAccountStatement],
    path: Path,
    *,
    sender_id: str,
    receiver_id: str,
    file_id: str,
    created_at: datetime,
) -> Path:
    for value, what in ((sender_id, "sender_id"), (receiver_id, "receiver_id"), (file_id, "file_id")):
        _check_bai2_field(value, what)
    for statement in statements:
        _check_statement(statement, bai2=True)
    records = [f"01,{sender_id},{receiver_id},{created_at:%y%m%d},{created_at:%H%M},{file_id},,,2/"]
    file_total = 0
    days = _days_covered(statements)
    for day in days:
        covering = [s for s in statements if s.date_from <= day <= s.date_to]
        group = [f"02,{receiver_id},{sender_id},1,{day:%y%m%d},,,2/"]
        group_total = 0
        for statement in covering:
            account_records, account_total = _bai2_account(statement, day)
            group += account_records
            group_total += account_total
        group.append(f"98,{group_total},{len(covering)},{len(group) + 1}/")
        records += group
        file_total += group_total
    records.append(f"99,{file_total},{len(days)},{len(records) + 1}/")
    path.write_text("\n".join(records) + "\n", encoding="utf-8")
    return path


def write_camt053(
    statements: Sequence[BankAccountStatement], path: Path, *, message_id: str, created_at: datetime
) -> Path:
    _check_length(message_id, CAMT_ID_WIDTH, "message_id")
    for statement in statements:
        _check_statement(statement, bai2=False)
    document = ET.Element("Document", xmlns=CAMT053_NAMESPACE)
    message = ET.SubElement(document, "BkToCstmrStmt")
    header = ET.SubElement(message, "GrpHdr")
    _leaf(header, "MsgId", message_id)
    _leaf(header, "CreDtTm", created_at.isoformat(timespec="seconds"))
    for number, statement in enumerate(statements, start=1):
        _camt_statement(message, statement, f"{message_id[: CAMT_ID_WIDTH - 5]}-{number}", created_at)
    ET.indent(document)
    path.write_bytes(ET.tostring(document, encoding="UTF-8", xml_declaration=True) + b"\n")
    return path


def _bai2_account(statement: BankAccountStatement, day: date) -> tuple[list[str], int]:
    opening = _balance_before(statement, day)
    entries = [entry for entry in statement.entries if entry.booking_date == day]
    credits = [entry.amount_minor for entry in entries if entry.direction == "credit"]
    debits = [entry.amount_minor for entry in entries if entry.direction == "debit"]
    closing = opening + sum(credits) - sum(debits)
    summary = (
        ("010", opening, ""),
        ("015", closing, ""),
        ("100", sum(credits), len(credits)),
        ("400", sum(debits), len(debits)),
    )
    summary_fields = [str(value) for code, amount, count in summary for value in (code, amount, count, "")]
    records = _bai2_record("03", [statement.account_id, statement.currency.upper(), *summary_fields])
    for entry in entries:
        records += _bai2_detail(entry)
    control_total = sum(amount for _, amount, _ in summary) + sum(credits) + sum(debits)
    records.append(f"49,{control_total},{len(records) + 1}/")
    return records, control_total


def _bai2_record(code: str, fields: list[str]) -> list[str]:
    """A record of plain fields, continued in 88 records where it would pass 80 columns."""
    lines: list[str] = []
    current = f"{code},{fields[0]}"
    for value in fields[1:]:
        if len(current) + len(value) + 2 > BAI2_LINE_WIDTH:  # ",value" and the closing "/"
            lines.append(current + "/")
            current = f"88,{value}"
        else:
            current += f",{value}"
    return [*lines, current + "/"]


def _bai2_detail(entry: BankEntry) -> list[str]:
    type_code = BAI2_CREDIT_TYPE_CODE if entry.direction == "credit" else BAI2_DEBIT_TYPE_CODE
    funds = "0" if entry.value_date == entry.booking_date else f"V,{entry.value_date:%y%m%d},"
    prefix = f"16,{type_code},{entry.amount_minor},{funds},{entry.bank_reference},{entry.customer_reference or ''},"
    if not entry.text:
        return [prefix + "/"]
    first, *rest = _wrap(entry.text, BAI2_LINE_WIDTH - len(prefix), BAI2_LINE_WIDTH - len("88,"))
    return [prefix + first, *(f"88,{chunk}" for chunk in rest)]


def _camt_statement(
    message: ET.Element, statement: BankAccountStatement, statement_id: str, created_at: datetime
) -> None:
    element = ET.SubElement(message, "Stmt")
    _leaf(element, "Id", statement_id)
    _leaf(element, "CreDtTm", created_at.isoformat(timespec="seconds"))
    period = ET.SubElement(element, "FrToDt")
    _leaf(period, "FrDtTm", f"{statement.date_from.isoformat()}T00:00:00")
    _leaf(period, "ToDtTm", f"{statement.date_to.isoformat()}T23:59:59")
    account = ET.SubElement(element, "Acct")
    account_id = ET.SubElement(account, "Id")
    if _IBAN.fullmatch(statement.account_id):
        _leaf(account_id, "IBAN", statement.account_id)
    else:
        _leaf(ET.SubElement(account_id, "Othr"), "Id", statement.account_id)
    _leaf(account, "Ccy", statement.currency.upper())
    closing = _balance_before(statement, statement.date_to + timedelta(days=1))
    _camt_balance(element, "OPBD", statement.opening_balance_minor, statement.currency, statement.date_from)
    _camt_balance(element, "CLBD", closing, statement.currency, statement.date_to)
    summary = ET.SubElement(element, "TxsSummry")
    _leaf(ET.SubElement(summary, "TtlNtries"), "NbOfNtries", str(len(statement.entries)))
    for tag, direction in (("TtlCdtNtries", "credit"), ("TtlDbtNtries", "debit")):
        amounts = [entry.amount_minor for entry in statement.entries if entry.direction == direction]
        totals = ET.SubElement(summary, tag)
        _leaf(totals, "NbOfNtries", str(len(amounts)))
        _leaf(totals, "Sum", format_major(sum(amounts), statement.currency))
    for entry in statement.entries:
        _camt_entry(element, entry, statement.currency)


def _camt_balance(statement: ET.Element, code: str, amount_minor: int, currency: str, on: date) -> None:
    balance = ET.SubElement(statement, "Bal")
    _leaf(ET.SubElement(ET.SubElement(balance, "Tp"), "CdOrPrtry"), "Cd", code)
    _leaf(balance, "Amt", format_major(abs(amount_minor), currency), Ccy=currency.upper())
    _leaf(balance, "CdtDbtInd", "CRDT" if amount_minor >= 0 else "DBIT")
    _leaf(ET.SubElement(balance, "Dt"), "Dt", on.isoformat())


def _camt_entry(statement: ET.Element, entry: BankEntry, currency: str) -> None:
    element = ET.SubElement(statement, "Ntry")
    _leaf(element, "Amt", format_major(entry.amount_minor, currency), Ccy=currency.upper())
    _leaf(element, "CdtDbtInd", "CRDT" if entry.direction == "credit" else "DBIT")
    _leaf(element, "Sts", "BOOK")
    _leaf(ET.SubElement(element, "BookgDt"), "Dt", entry.booking_date.isoformat())
    _leaf(ET.SubElement(element, "ValDt"), "Dt", entry.value_date.isoformat())
    _leaf(element, "AcctSvcrRef", entry.bank_reference)
    domain_code, family_code, sub_family_code = CAMT_BANK_TRANSACTION_CODES[entry.direction]
    domain = ET.SubElement(ET.SubElement(element, "BkTxCd"), "Domn")
    _leaf(domain, "Cd", domain_code)
    family = ET.SubElement(domain, "Fmly")
    _leaf(family, "Cd", family_code)
    _leaf(family, "SubFmlyCd", sub_family_code)
    details = ET.SubElement(ET.SubElement(element, "NtryDtls"), "TxDtls")
    _leaf(ET.SubElement(details, "Refs"), "EndToEndId", entry.customer_reference or "NOTPROVIDED")
    if entry.text:
        remittance = ET.SubElement(details, "RmtInf")
        for line in _wrap(entry.text, CAMT_TEXT_WIDTH, CAMT_TEXT_WIDTH):
            _leaf(remittance, "Ustrd", line)


def _balance_before(statement: BankAccountStatement, day: date) -> int:
    movements = (
        e.amount_minor if e.direction == "credit" else -e.amount_minor
        for e in statement.entries
        if e.booking_date < day
    )
    return statement.opening_balance_minor + sum(movements)


def _leaf(parent: ET.Element, tag: str, text: str, **attributes: str) -> None:
    ET.SubElement(parent, tag, attributes).text = text


def _wrap(text: str, first_width: int, width: int) -> list[str]:
    """Greedy word wrap whose chunks, joined with single spaces, give back `text` exactly.

    The first chunk is empty when not even the first word fits in `first_width`.
    """
    chunks: list[str] = []
    current, limit = "", first_width
    for word in text.split(" "):
        if len(word) > width:
            raise ValueError(f"text word {word[:20]!r}... is longer than {width} characters and cannot be wrapped")
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= limit:
            current = candidate
            continue
        chunks.append(current)
        current, limit = word, width
    chunks.append(current)
    return chunks


def _days_covered(statements: Sequence[BankAccountStatement]) -> list[date]:
    days: set[date] = set()
    for statement in statements:
        days.update(
            statement.date_from + timedelta(days=n) for n in range((statement.date_to - statement.date_from).days + 1)
        )
    return sorted(days)


def _check_statement(statement: BankAccountStatement, *, bai2: bool) -> None:
    where = f"statement of account {statement.account_id!r}"
    if not re.fullmatch(r"[a-z]{3}", statement.currency):
        raise ValueError(f"{where}: currency {statement.currency!r} must be a lower-case ISO code like 'usd'")
    if statement.date_from > statement.date_to:
        raise ValueError(f"{where}: date_from {statement.date_from} is after date_to {statement.date_to}")
    if bai2:
        _check_bai2_field(statement.account_id, f"{where}: account_id")
    else:
        _check_length(statement.account_id, 34, f"{where}: account_id")
    for entry in statement.entries:
        _check_entry(entry, statement, where, bai2=bai2)


def _check_entry(entry: BankEntry, statement: BankAccountStatement, where: str, *, bai2: bool) -> None:
    what = f"{where}: entry {entry.bank_reference!r}"
    if not isinstance(entry.amount_minor, int) or entry.amount_minor <= 0:
        raise ValueError(f"{what}: amount_minor must be a positive int, got {entry.amount_minor!r}")
    if entry.direction not in ("credit", "debit"):
        raise ValueError(f"{what}: direction must be 'credit' or 'debit', got {entry.direction!r}")
    if not statement.date_from <= entry.booking_date <= statement.date_to:
        raise ValueError(
            f"{what}: booking_date {entry.booking_date} is outside {statement.date_from}..{statement.date_to}"
        )
    if " ".join(entry.text.split()) != entry.text:
        raise ValueError(f"{what}: text must be single-spaced, without tabs, newlines or leading/trailing spaces")
    references = [(entry.bank_reference, "bank_reference")]
    if entry.customer_reference is not None:
        references.append((entry.customer_reference, "customer_reference"))
    for value, name in references:
        if bai2:
            _check_bai2_field(value, f"{what}: {name}")
        else:
            _check_length(value, CAMT_ID_WIDTH, f"{what}: {name}")
    if bai2 and any(word.endswith("/") for word in entry.text.split(" ")):
        raise ValueError(f"{what}: a BAI2 text word may not end with '/', which ends a record when it ends a line")


def _check_bai2_field(value: str, what: str) -> None:
    if not value or "," in value or "/" in value or value != value.strip():
        raise ValueError(f"{what} {value!r} must be non-empty, without ',' or '/' (BAI2 delimiters) or edge spaces")


def _check_length(value: str, width: int, what: str) -> None:
    if not value or len(value) > width or value != value.strip():
        raise ValueError(f"{what} {value!r} must be 1 to {width} characters without edge spaces")
