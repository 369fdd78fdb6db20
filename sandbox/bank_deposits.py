"""How the simulated payouts arrive at the merchant's bank, with the noise real statements have.

Most payouts arrive as one credit on their arrival date, with Stripe's ACH text
(`STRIPE TRANSFER <trace id> <merchant>`) and the trace id as the customer reference. The noise:

* a late deposit: one EUR payout is booked a business day after its arrival date;
* a combined deposit: two consecutive USD payouts arrive as one credit (the bank shows one trace);
* a split: one USD payout arrives as two credits on the same day, each showing its trace id;
* a bare descriptor: one payout per currency arrives as `STRIPE TRANSFER` alone (the bank dropped
  the trace, as beneficiary banks may), and beside it, on the same day and for the same amount,
  a decoy from another payer and a decoy from another Stripe account (with its own trace);
* a failure: the payout that fails after being paid shows as a credit and a later return debit.

The result is both the bank statement the sandbox writes (BAI2 and camt.053) and the ground truth
of which payouts each bank line holds (decoys hold none).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from sandbox import stripe_objects
from sandbox.bank_statements import BankAccountStatement, BankEntry
from sandbox.merchant import COMBINED_DEPOSIT_PAYOUT_DAYS, DAY, LATE_DEPOSIT_PAYOUT_DAY, World, add_business_days, ts_date

OPENING_BALANCE_MINOR = 10_000_000
SPLIT_DEPOSIT_PAYOUT_DAY = 7  # a USD payout
BARE_DESCRIPTOR_PAYOUT_DAY = 2  # in every currency
OTHER_STRIPE_ACCOUNT_TRACE = "ST-Q7OTHERACCT4"
OTHER_PAYER_TEXT = "ACH CREDIT GLOBEX CORPORATION INVOICE 4471"


@dataclass(frozen=True)
class PayoutDeposit:
    """One bank line and the payouts behind it (none for a decoy)."""

    payout_ids: tuple[str, ...]
    currency: str
    direction: str
    amount_minor: int
    booking_date: date
    value_date: date
    bank_reference: str
    customer_reference: str | None
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
    references = _references()
    deposits: list[PayoutDeposit] = []

    def deposit(
        currency: str, payouts: list[dict], amount: int, booked: date, trace: str | None, text: str, direction: str = "credit"
    ) -> None:
        deposits.append(PayoutDeposit(
            payout_ids=tuple(p["id"] for p in payouts), currency=currency, direction=direction, amount_minor=amount,
            booking_date=booked, value_date=booked, bank_reference=references(currency),
            customer_reference=trace, text=text,
        ))

    for row, day in arrived:
        arrival = ts_date(row["arrival_date"])
        currency, trace = row["currency"], row["trace_id"]
        ach_text = f"STRIPE TRANSFER {trace} {spec.merchant_name}"
        if currency == "usd" and day in COMBINED_DEPOSIT_PAYOUT_DAYS and len(combined) == len(COMBINED_DEPOSIT_PAYOUT_DAYS):
            if day == max(COMBINED_DEPOSIT_PAYOUT_DAYS):
                members = [combined[d] for d in COMBINED_DEPOSIT_PAYOUT_DAYS]
                deposit(currency, members, sum(m["amount"] for m in members), arrival, trace, ach_text)
        elif currency == "usd" and day == SPLIT_DEPOSIT_PAYOUT_DAY and row["amount"] >= 2:
            first = row["amount"] * 3 // 5
            deposit(currency, [row], first, arrival, trace, ach_text)
            deposit(currency, [row], row["amount"] - first, arrival, trace, ach_text)
        elif day == BARE_DESCRIPTOR_PAYOUT_DAY and row["failed_at"] is None:
            deposit(currency, [row], row["amount"], arrival, None, f"STRIPE TRANSFER {spec.merchant_name}")
            deposit(currency, [], row["amount"], arrival, "INV-4471", OTHER_PAYER_TEXT)
            deposit(currency, [], row["amount"], arrival, OTHER_STRIPE_ACCOUNT_TRACE, f"STRIPE TRANSFER {OTHER_STRIPE_ACCOUNT_TRACE} INITECH LLC")
        else:
            late = currency == "eur" and day == LATE_DEPOSIT_PAYOUT_DAY
            deposit(currency, [row], row["amount"], add_business_days(arrival, 1) if late else arrival, trace, ach_text)
        if row["failed_at"] is not None and row["failed_at"] <= world.as_of:
            deposit(currency, [row], row["amount"], ts_date(row["failed_at"]), trace, f"RETURN STRIPE TRANSFER {trace} ACCOUNT CLOSED", "debit")
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


def _references() -> Callable[[str], str]:
    """The bank's own entry references, numbered in the order lines are planned."""
    sequence: Iterator[int] = iter(range(1, 1_000_000))
    return lambda currency: f"{currency.upper()}{next(sequence):010d}"
