"""Small hand-made journals for the exporter tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from exporters.journal import JournalLine

DAY = date(2026, 10, 3)
ACCOUNT_NAMES = {"1010": "Stripe Clearing", "4000": "Revenue", "6000": "Stripe Processing Fees", "4900": "Refunds"}


def line(entry: str, currency: str, account: str, amount: int, day: date = DAY) -> JournalLine:
    name = ACCOUNT_NAMES.get(account, f"Account {account}")
    return JournalLine(
        journal_entry_id=entry, external_id=entry, entity_id="main", accounting_date=day, currency=currency,
        account_code=account, account_name=name, netsuite_account=f"{account} {name}",
        sap_gl_account="0000" + account + "00", amount_minor=amount, memo=f"Stripe activity {day} {currency.upper()}",
        functional_currency=currency, functional_amount_minor=amount, exchange_rate=Decimal(1),
    )


JPY = [
    line("STRIPE-main-20261003-JPY", "jpy", "1010", 98_765),
    line("STRIPE-main-20261003-JPY", "jpy", "4000", -100_000),
    line("STRIPE-main-20261003-JPY", "jpy", "6000", 1_235),
]
KWD = [
    line("STRIPE-main-20261003-KWD", "kwd", "1010", 12_345),
    line("STRIPE-main-20261003-KWD", "kwd", "4000", -12_346),
    line("STRIPE-main-20261003-KWD", "kwd", "6000", 1),
]
USD = [
    line("STRIPE-main-20261003-USD", "usd", "1010", 100_001),
    line("STRIPE-main-20261003-USD", "usd", "4000", -100_101),
    line("STRIPE-main-20261003-USD", "usd", "6000", 100),
]


def long_entry(lines: int, currency: str = "usd", entry: str = "STRIPE-main-20261004-USD") -> list[JournalLine]:
    """An entry of `lines` lines: revenue accounts 4000..., fees, and Stripe clearing for the net."""
    day = date(2026, 10, 4)
    body = [line(entry, currency, f"{5000 + index}", -(1_000 + index), day) for index in range(lines - 1)]
    return [line(entry, currency, "1010", -sum(item.amount_minor for item in body), day), *body]
