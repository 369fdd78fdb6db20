"""Stripe-shaped JSON objects from the simulated world, as they look at a given clock time.

Keys and their order follow Stripe's own example objects (shared/samples/stripe/
openapi_fixtures3.json); a test holds every rendered object against that file.
"""

from __future__ import annotations

from typing import Any

from sandbox.merchant import World

FAILURE_CODE = "account_closed"
FAILURE_MESSAGE = "The bank account has been closed."


PLATFORM_APPLICATION = "ca_sandbox_platform"
APPLICATION_FEE_DESCRIPTION = "Platform application fee"
FEE_TAX_DESCRIPTION = "VAT on Stripe processing fees"


def fee_details(row: dict[str, Any]) -> list[dict[str, Any]]:
    """`fee` itemized: Stripe's own fee, then the application fee and the tax, when present."""
    parts = [
        (row["fee_detail_type"], row["fee_detail_description"], row["fee"] - row["application_fee"] - row["fee_tax"], None),
        ("application_fee" if row["application_fee"] else None, APPLICATION_FEE_DESCRIPTION, row["application_fee"], PLATFORM_APPLICATION),
        ("tax" if row["fee_tax"] else None, FEE_TAX_DESCRIPTION, row["fee_tax"], None),
    ]
    return [
        {"amount": amount, "application": application, "currency": row["currency"], "description": description, "type": kind}
        for kind, description, amount, application in parts
        if kind is not None
    ]


def balance_transaction(row: dict[str, Any], clock: int) -> dict[str, Any]:
    return {
        "amount": row["amount"],
        "available_on": row["available_on"],
        "created": row["created"],
        "currency": row["currency"],
        "description": row["description"],
        "exchange_rate": None,
        "fee": row["fee"],
        "fee_details": fee_details(row),
        "id": row["id"],
        "net": row["net"],
        "object": "balance_transaction",
        "reporting_category": row["reporting_category"],
        "source": row["source"],
        "status": "available" if row["available_on"] <= clock else "pending",
        "type": row["type"],
        "balance_type": "payments",
    }


def payout_status(row: dict[str, Any], clock: int) -> str:
    if row["failed_at"] is not None and row["failed_at"] <= clock:
        return "failed"
    if row["arrival_date"] <= clock:
        return "paid"
    return "in_transit"


def payout(row: dict[str, Any], clock: int) -> dict[str, Any]:
    status = payout_status(row, clock)
    failed = status == "failed"
    settled = status in ("paid", "failed")
    # Stripe reconciles only automatic payouts; the others are `not_applicable` (reference/stripe.md 2).
    reconciliation = ("completed" if settled else "in_progress") if row["automatic"] else "not_applicable"
    return {
        "amount": row["amount"],
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": row["arrival_date"],
        "automatic": row["automatic"],
        "balance_transaction": row["balance_transaction"],
        "created": row["created"],
        "currency": row["currency"],
        "description": "STRIPE PAYOUT",
        "destination": row["destination"],
        "failure_balance_transaction": row["failure_balance_transaction"] if failed else None,
        "failure_code": FAILURE_CODE if failed else None,
        "failure_message": FAILURE_MESSAGE if failed else None,
        "id": row["id"],
        "livemode": False,
        "metadata": {},
        "method": row["method"],
        "object": "payout",
        "original_payout": None,
        "reconciliation_status": reconciliation,
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": None,
        "status": status,
        "type": "bank_account",
        "trace_id": {"status": "supported", "value": row["trace_id"]} if settled else {"status": "pending", "value": None},
        "payout_method": None,
    }


def balance(world: World, clock: int) -> dict[str, Any]:
    """The Stripe balance at `clock`: available and pending funds per currency."""
    table = world.balance_transactions
    created = table.column("created").to_numpy()
    available_on = table.column("available_on").to_numpy()
    currencies = table.column("currency").to_numpy(zero_copy_only=False)
    nets = table.column("net").to_numpy()
    visible = created <= clock
    available, pending = {}, {}
    for currency in world.spec.currencies:
        in_currency = visible & (currencies == currency)
        available[currency] = int(nets[in_currency & (available_on <= clock)].sum())
        pending[currency] = int(nets[in_currency & (available_on > clock)].sum())
    return {
        "available": [{"amount": amount, "currency": c, "source_types": {"card": amount}} for c, amount in available.items()],
        "connect_reserved": [{"amount": 0, "currency": c} for c in available],
        "livemode": False,
        "object": "balance",
        "pending": [{"amount": amount, "currency": c, "source_types": {"card": amount}} for c, amount in pending.items()],
    }
