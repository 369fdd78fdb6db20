"""Statement files of a chosen size, for parse benchmarks: `write_camt053_of_size(path, bytes)`.

One camt.053 statement of one EUR account over a month, as `bank_statements.write_camt053` writes
it (same elements, valid against the ISO schema), filled with Stripe-looking payouts and the odd
debit until the file reaches the size asked for. The entries are written one at a time, so a
50 MB file never exists as one XML tree in memory. Same seed and size, same bytes.
"""

from __future__ import annotations

import random
import string
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from pathlib import Path

from sandbox.bank_statements import (
    CAMT053_NAMESPACE,
    BankAccountStatement,
    BankEntry,
    camt_entry,
    camt_statement_head,
)

_ACCOUNT = "DE89370400440532013000"
_CURRENCY = "eur"
_PERIOD_START = date(2026, 10, 1)
_PERIOD_DAYS = 31
_CREATED_AT = datetime(2026, 11, 1, 6, 0, 0)
_INDENT = "  "


def write_camt053_of_size(path: Path, size_bytes: int, *, seed: int = 7) -> int:
    """Write a camt.053 of at least `size_bytes` (one entry more at most) to `path`; return its entry count."""
    rng = random.Random(seed)
    entries: list[BankEntry] = []
    chunks: list[bytes] = []
    written = len(_document(_statement(entries)))
    while written < size_bytes:
        entry = _entry(rng, len(entries))
        chunk = _entry_xml(entry)
        entries.append(entry)
        chunks.append(chunk)
        written += len(chunk)
    head, tail = _document(_statement(entries)).split(b"</Stmt>")
    with path.open("wb") as out:
        out.write(head)
        out.writelines(chunks)
        out.write(_INDENT.encode() * 2 + b"</Stmt>" + tail)
    return len(entries)


def _statement(entries: list[BankEntry]) -> BankAccountStatement:
    period_end = _PERIOD_START + timedelta(days=_PERIOD_DAYS - 1)
    return BankAccountStatement(_ACCOUNT, _CURRENCY, _PERIOD_START, period_end, 1_000_000, tuple(entries))


def _document(statement: BankAccountStatement) -> bytes:
    """The whole file but its entries: header, account, balances and the summary of `statement.entries`."""
    document = ET.Element("Document", xmlns=CAMT053_NAMESPACE)
    message = ET.SubElement(document, "BkToCstmrStmt")
    header = ET.SubElement(message, "GrpHdr")
    ET.SubElement(header, "MsgId").text = "BENCH-CAMT053"
    ET.SubElement(header, "CreDtTm").text = _CREATED_AT.isoformat(timespec="seconds")
    camt_statement_head(message, statement, "BENCH-CAMT053-1", _CREATED_AT)
    ET.indent(document, space=_INDENT)
    return ET.tostring(document, encoding="UTF-8", xml_declaration=True) + b"\n"


def _entry_xml(entry: BankEntry) -> bytes:
    """One `Ntry`, indented as the third level of the document, on lines of its own."""
    holder = ET.Element("Stmt")
    element = camt_entry(holder, entry, _CURRENCY)
    ET.indent(element, space=_INDENT, level=3)
    element.tail = "\n" + _INDENT * 2
    return _INDENT.encode() + ET.tostring(element, encoding="utf-8")


def _entry(rng: random.Random, number: int) -> BankEntry:
    # Booking days advance with the entry number so that a 50 MB file (60-120k entries) covers the month.
    booked = _PERIOD_START + timedelta(days=number * _PERIOD_DAYS // 120_000 % _PERIOD_DAYS)
    token = "".join(rng.choices(string.ascii_uppercase + string.digits, k=12))
    if rng.random() < 0.9:
        amount, direction = rng.randint(1_000, 5_000_000), "credit"
        text = f"STRIPE TRANSFER ST-{token} ACME ROBOTICS GMBH"
        customer_reference: str | None = f"po_{token.lower()}{number:010d}"
    else:
        amount, direction = rng.randint(100, 200_000), "debit"
        text = f"SEPA DIRECT DEBIT {token} SUPPLIER INVOICE {number}"
        customer_reference = None
    return BankEntry(booked, booked + timedelta(days=1), amount, direction, f"BR{number:014d}", customer_reference, text)
