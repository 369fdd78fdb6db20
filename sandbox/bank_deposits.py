"""How the simulated payouts arrive at the merchant's bank, with the noise real statements have.

Most payouts arrive as one credit on their arrival date. One deposit is booked a business day
late, two consecutive payouts arrive combined in one credit, and the payout that fails after
being paid shows as a credit followed by a return debit. The result is both the bank statement
the sandbox writes (BAI2 and camt.053) and the ground truth of which payouts a deposit holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sandbox import stripe_objects
from sandbox.bank_statements import BankAccountStatement, BankEntry
from sandbox.merchant import COMBINED_DEPOSIT_PAYOUT_DAYS, DAY, LATE_DEPOSIT_PAYOUT_DAY, World, add_business_days, ts_date

OPENING_BALANCE_MINOR = 10_000_000


@dataclass(frozen=True)
class PayoutDeposit:
    """One bank line and the payouts behind it."""

    payout_ids: tuple[str, ...]
    currency: str
    direction: str
    amount_minor: int
    booking_date: date
    value_date: date
    bank_reference: str
    customer_reference: str
    text: str


def bank_account_id(currency: str) -> str:
    return f"{currency.upper()}-OPERATING-4410"


def plan_deposits(world: World) -> list[PayoutDeposit]:
    spec = world.spec
    arrived = []
    for row in world.payouts.to_pylist():
        status = stripe_objects.payout_status(row, world.as_of)
        if status in ("paid", "failed") and row["arrival_date"] <= world.as_of:
            arrived.append((row, (row["created"] - spec.start_ts) // DAY))
    combined = {
        day: row for row, day in arrived if row["currency"] == "usd" and day in COMBINED_DEPOSIT_PAYOUT_DAYS
    }
    deposits: list[PayoutDeposit] = []
    sequence = iter(range(1, 1_000_000))

    def reference(currency: str) -> str:
        return f"{currency.upper()}{next(sequence):010d}"

    for row, day in arrived:
        arrival = ts_date(row["arrival_date"])
        currency = row["currency"]
        text = f"STRIPE TRANSFER {row['trace_id']} {spec.merchant_name}"
        if row["currency"] == "usd" and day in COMBINED_DEPOSIT_PAYOUT_DAYS and len(combined) == len(COMBINED_DEPOSIT_PAYOUT_DAYS):
            if day != max(COMBINED_DEPOSIT_PAYOUT_DAYS):
                continue
            members = [combined[d] for d in COMBINED_DEPOSIT_PAYOUT_DAYS]
            deposits.append(PayoutDeposit(
                payout_ids=tuple(m["id"] for m in members), currency=currency, direction="credit",
                amount_minor=sum(m["amount"] for m in members), booking_date=arrival, value_date=arrival,
                bank_reference=reference(currency), customer_reference=row["trace_id"], text=text,
            ))
            continue
        booked = add_business_days(arrival, 1) if currency == "eur" and day == LATE_DEPOSIT_PAYOUT_DAY else arrival
        deposits.append(PayoutDeposit(
            payout_ids=(row["id"],), currency=currency, direction="credit", amount_minor=row["amount"],
            booking_date=booked, value_date=booked, bank_reference=reference(currency),
            customer_reference=row["trace_id"], text=text,
        ))
        if row["failed_at"] is not None and row["failed_at"] <= world.as_of:
            returned = ts_date(row["failed_at"])
            deposits.append(PayoutDeposit(
                payout_ids=(row["id"],), currency=currency, direction="debit", amount_minor=row["amount"],
                booking_date=returned, value_date=returned, bank_reference=reference(currency),
                customer_reference=row["trace_id"], text=f"RETURN STRIPE TRANSFER {row['trace_id']} ACCOUNT CLOSED",
            ))
    return sorted(deposits, key=lambda d: (d.currency, d.booking_date, d.bank_reference))


def bank_statements(world: World, deposits: list[PayoutDeposit]) -> list[BankAccountStatement]:
    """One statement per currency account over the world's days."""
    spec = world.spec
    last_day = ts_date(world.as_of - 1)
    statements = []
    for currency in spec.currencies:
        entries = tuple(
            BankEntry(
                booking_date=d.booking_date, value_date=d.value_date, amount_minor=d.amount_minor,
                direction=d.direction, bank_reference=d.bank_reference,
                customer_reference=d.customer_reference, text=d.text,
            )
            for d in deposits
            if d.currency == currency and d.booking_date <= last_day
        )
        statements.append(BankAccountStatement(
            account_id=bank_account_id(currency), currency=currency, date_from=spec.start, date_to=last_day,
            opening_balance_minor=OPENING_BALANCE_MINOR, entries=entries,
        ))
    return statements
