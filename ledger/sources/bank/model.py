"""The normalized shape every bank statement format is parsed into, and the one error type.

Amounts are integer minor units. A statement line's amount is never negative: the sign lives in
`direction`, as it does in BAI2 type codes, camt `CdtDbtInd` and MT940 marks. Balances are signed
(negative = overdrawn), because a balance has no direction of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

Direction = Literal["credit", "debit"]
EntryStatus = Literal["booked", "pending", "info", "future"]
BalanceKind = Literal["opening", "closing", "available", "interim", "other"]
FormatName = Literal["bai2", "camt.052", "camt.053", "camt.054", "mt940", "csv", "ofx"]


class BankStatementError(ValueError):
    """A statement file that cannot be read completely and exactly; nothing of it is returned."""

    def __init__(self, file: str, line: int | None, reason: str, element: str | None = None) -> None:
        self.file = file
        self.line = line
        self.reason = reason
        self.element = element
        where = f"line {line}" if line is not None else "whole file"
        if element:
            where += f" ({element})"
        super().__init__(f"{file}, {where}: {reason}")


@contextmanager
def located(file: str, line: int | None, element: str | None = None) -> Iterator[None]:
    """Turn a field-level ValueError raised inside the block into a BankStatementError at this place."""
    try:
        yield
    except BankStatementError:
        raise
    except ValueError as error:
        raise BankStatementError(file, line, str(error), element) from error


@dataclass(frozen=True, slots=True)  # slots: a 50 MB file holds 400,000 of them (no __dict__ each)
class StatementLine:
    account_id: str
    booking_date: date
    value_date: date | None  # None where the file gives no value date (e.g. Wise camt)
    amount_minor: int
    direction: Direction
    currency: str  # lower-case ISO 4217
    status: EntryStatus
    bank_reference: str | None  # the bank's own id for the entry; None when the file has none
    customer_reference: str | None  # the payer's reference (EndToEndId, MT940 `:61:` ref); None if absent
    transaction_code: str | None  # BAI2 type code, camt BkTxCd, MT940 type (e.g. NTRF)
    text: str
    file_name: str
    line: int  # 1-based line where the entry starts (camt: the <Ntry> element's line)
    file_sha256: str

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "booking_date": self.booking_date.isoformat(),
            "value_date": self.value_date.isoformat() if self.value_date else None,
            "amount_minor": self.amount_minor,
            "currency": self.currency,
            "direction": self.direction,
            "status": self.status,
            "bank_reference": self.bank_reference,
            "customer_reference": self.customer_reference,
            "transaction_code": self.transaction_code,
            "text": self.text,
            "line": self.line,
        }


@dataclass(frozen=True)
class Balance:
    account_id: str
    currency: str
    kind: BalanceKind
    code: str  # as the file names it: BAI2 010/015/040, camt OPBD/CLBD, MT940 60F/62F/64
    amount_minor: int  # signed
    date: date
    line: int

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "currency": self.currency,
            "kind": self.kind,
            "code": self.code,
            "amount_minor": self.amount_minor,
            "date": self.date.isoformat(),
            "line": self.line,
        }


@dataclass(frozen=True)
class ControlCheck:
    """A figure the file states about itself, next to the same figure computed from its entries."""

    name: str  # e.g. "account 1234 control total (49 record)", "statement 7 EUR closing balance"
    line: int
    stated: int
    computed: int

    @property
    def ok(self) -> bool:
        return self.stated == self.computed

    def describe(self) -> str:
        return f"{self.name} at line {self.line} says {self.stated}, but the file adds up to {self.computed}"

    def to_json_dict(self) -> dict[str, Any]:
        return {"name": self.name, "line": self.line, "stated": self.stated, "computed": self.computed, "ok": self.ok}


@dataclass(frozen=True)
class ParsedStatement:
    file_name: str
    file_sha256: str
    format: FormatName
    entries: tuple[StatementLine, ...]
    balances: tuple[Balance, ...]
    checks: tuple[ControlCheck, ...]
    warnings: tuple[str, ...]

    def totals(self) -> dict[str, dict[str, dict[str, int]]]:
        """Sum and count per currency and direction, e.g. {"usd": {"credit": {...}, "debit": {...}}}."""
        totals: dict[str, dict[str, dict[str, int]]] = {}
        for entry in self.entries:
            per_direction = totals.setdefault(
                entry.currency,
                {"credit": {"amount_minor": 0, "count": 0}, "debit": {"amount_minor": 0, "count": 0}},
            )
            per_direction[entry.direction]["amount_minor"] += entry.amount_minor
            per_direction[entry.direction]["count"] += 1
        return dict(sorted(totals.items()))

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "file": self.file_name,
            "sha256": self.file_sha256,
            "format": self.format,
            "entry_count": len(self.entries),
            "entries": [entry.to_json_dict() for entry in self.entries],
            "totals": self.totals(),
            "balances": [balance.to_json_dict() for balance in self.balances],
            "checks": [check.to_json_dict() for check in self.checks],
            "warnings": list(self.warnings),
        }
