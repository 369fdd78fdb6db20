"""What the SAP targets share: options, the entries SAP receives, and their 16-character reference.

SAP takes at most 999 line items per journal entry (reference/erp.md 2a), so longer entries are
split into balanced parts. Amounts keep the currency's decimals in SAP's table TCURX: the seed's
(JPY none, KWD three) unless `SAP_CURRENCY_DECIMALS` says the tenant keeps others. Each
item carries its amount in the transaction currency and in the company code's (functional)
currency, from the translated journal; the header carries the exchange rate.
`DocumentReferenceID` (XBLNR) holds 16 characters, fewer than the ledger's external ids, so it is
derived deterministically: the entry's date (yymmdd) and currency, then 7 base32 characters of
the sha256 of the full external id; the same entry always gets the same reference.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from exporters.journal import JournalEntry, JournalLine, group_entries, split_entry
from ledger.money import exponent, format_decimals

MAX_LINES_PER_ENTRY = 999
REFERENCE_LENGTH = 16
HEADER_TEXT_LENGTH = 25
ITEM_TEXT_LENGTH = 50


@dataclass(frozen=True)
class SapOptions:
    # The entity's, from the seed `entities` (ExportSettings.sap_options).
    company_code: str = ""
    document_type: str = "SA"
    logical_system: str = "STRIPE"
    created_by_user: str = "CC_STRIPE"
    date_format: str = "%d/%m/%Y"
    max_lines: int = MAX_LINES_PER_ENTRY
    carry_account_code: str = "1010"
    # TCURX decimals where the tenant's differ from the seed's (SAP_CURRENCY_DECIMALS), e.g. {"kwd": 2}.
    currency_decimals: Mapping[str, int] = field(default_factory=dict)

    def decimals(self, currency: str) -> int:
        return self.currency_decimals.get(currency, exponent(currency))

    def amount(self, amount_minor: int, currency: str, decimal_separator: str = ".") -> str:
        """The amount with the decimals SAP keeps for the currency; refuses one that does not fit them."""
        return format_decimals(amount_minor, currency, self.decimals(currency), decimal_separator)


def document_reference_id(entry: JournalEntry) -> str:
    digest = base64.b32encode(hashlib.sha256(entry.external_id.encode()).digest()).decode()
    reference = f"{entry.accounting_date:%y%m%d}{entry.currency.upper()}{digest[:REFERENCE_LENGTH - 9]}"
    assert len(reference) == REFERENCE_LENGTH
    return reference


def sap_entries(lines: list[JournalLine], options: SapOptions) -> list[JournalEntry]:
    return [part for entry in group_entries(lines) for part in split_entry(entry, options.max_lines, options.carry_account_code)]


def debit_credit_code(line: JournalLine) -> str:
    """S (Soll) for a debit, H (Haben) for a credit; a rounding line (transaction amount 0) takes its functional amount's side."""
    return "S" if line.is_debit else "H"
