"""What the books must say about a simulated world, worked out from what happened in it.

The simulator knows each transaction's economic event (a sale, a refund, a lost dispute), so the
expected balance of every GL account follows from the accounting policy stated here in terms of
events, not from the reporting-category mapping the ledger uses. A ledger that drops, doubles,
mis-signs or mis-maps anything disagrees with this to the minor unit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import numpy as np

from ledger.sources.source_tables import TAX_TRANSACTION_KEY
from sandbox import stripe_objects
from sandbox.merchant import World

if TYPE_CHECKING:
    from sandbox.bank_deposits import PayoutDeposit
    from sandbox.sales import SalesDetail

BANK, STRIPE_CLEARING, CASH_IN_TRANSIT = "1000", "1010", "1030"
REVENUE, REFUNDS, DISPUTES_RECEIVABLE = "4000", "4900", "1200"
PROCESSING_FEES, FEE_TAX, APPLICATION_FEES, CHARGEBACK_FEES = "6000", "6010", "6020", "6100"

# The sales split's default accounts (dbt_project/seeds/gl_sales_policy.csv, gl_revenue_accounts.csv,
# gl_tax_accounts.csv): what a charge or refund sold books instead of its gross amount.
DISCOUNTS, SHIPPING, DEFAULT_TAX = "4050", "4200", "2000"
CATEGORY_ACCOUNTS = {"services": "4010", "marketplace": "4020"}
# By jurisdiction, ISO style as the ledger names it (`iso_jurisdiction`).
TAX_ACCOUNTS = {"US-CA": "2010", "US-NY": "2011", "US-TX": "2012", "DE": "2020", "FR": "2021", "GB": "2022", "JP": "2030"}

# event -> (account of the gross amount, account of Stripe's own part of the fee); the application
# fee and the tax inside a fee always book to application fees paid and tax on fees.
EVENT_ACCOUNTS = {
    "charge": (REVENUE, PROCESSING_FEES),
    "partial_capture_reversal": (REVENUE, PROCESSING_FEES),
    "refund": (REFUNDS, PROCESSING_FEES),
    "dispute": (DISPUTES_RECEIVABLE, CHARGEBACK_FEES),
    "dispute_reversal": (DISPUTES_RECEIVABLE, CHARGEBACK_FEES),
    "stripe_fee": (PROCESSING_FEES, PROCESSING_FEES),
    "tax_fee": (FEE_TAX, FEE_TAX),
    "payout": (CASH_IN_TRANSIT, PROCESSING_FEES),
    "payout_failure": (CASH_IN_TRANSIT, PROCESSING_FEES),
}


@dataclass(frozen=True)
class GroundTruth:
    gl_balances: dict[tuple[str, str], int]
    """(currency, account code) -> balance in minor units, debit positive; zero balances omitted."""
    stripe_balance: dict[str, int]
    """currency -> available + pending at the world's end."""
    deposits: tuple[PayoutDeposit, ...]

    def to_json_dict(self) -> dict:
        return {
            "gl_balances": [
                {"currency": c, "account_code": a, "balance_minor": b} for (c, a), b in sorted(self.gl_balances.items())
            ],
            "stripe_balance": self.stripe_balance,
            "payout_deposits": [
                {
                    "payout_ids": list(d.payout_ids), "currency": d.currency, "direction": d.direction,
                    "amount_minor": d.amount_minor, "booking_date": d.booking_date.isoformat(),
                    "bank_reference": d.bank_reference,
                }
                for d in self.deposits
            ],
        }


def ground_truth(world: World, deposits: list[PayoutDeposit]) -> GroundTruth:
    table = world.balance_transactions
    events = table.column("event").to_numpy(zero_copy_only=False)
    currencies = table.column("currency").to_numpy(zero_copy_only=False)
    columns = {name: table.column(name).to_numpy() for name in ("amount", "fee", "net", "created", "application_fee", "fee_tax")}
    visible = columns["created"] <= world.as_of
    balances: dict[tuple[str, str], int] = defaultdict(int)
    for event, (gross_account, fee_account) in EVENT_ACCOUNTS.items():
        for currency in world.spec.currencies:
            rows = visible & (events == event) & (currencies == currency)
            balances[(currency, gross_account)] -= int(columns["amount"][rows].sum())
            application_fee, fee_tax = int(columns["application_fee"][rows].sum()), int(columns["fee_tax"][rows].sum())
            balances[(currency, fee_account)] += int(columns["fee"][rows].sum()) - application_fee - fee_tax
            balances[(currency, APPLICATION_FEES)] += application_fee
            balances[(currency, FEE_TAX)] += fee_tax
            balances[(currency, STRIPE_CLEARING)] += int(columns["net"][rows].sum())
    for key, amount in _sales_split(world).items():
        balances[key] += amount
    unknown = set(events[visible]) - set(EVENT_ACCOUNTS)
    if unknown:
        raise ValueError(f"ground truth has no accounting policy for events {sorted(unknown)}")
    for payout in world.payouts.to_pylist():
        if stripe_objects.payout_status(payout, world.as_of) == "paid":
            balances[(payout["currency"], BANK)] += payout["amount"]
            balances[(payout["currency"], CASH_IN_TRANSIT)] -= payout["amount"]
    snapshot = stripe_objects.balance(world, world.as_of)
    stripe_balance = {
        entry["currency"]: entry["amount"] + next(p["amount"] for p in snapshot["pending"] if p["currency"] == entry["currency"])
        for entry in snapshot["available"]
    }
    return GroundTruth(
        gl_balances={key: value for key, value in balances.items() if value != 0},
        stripe_balance=stripe_balance,
        deposits=tuple(deposits),
    )




def iso_jurisdiction(country: str | None, state: str | None) -> str | None:
    """A tax jurisdiction as the ledger names it (dbt_project/macros/iso_jurisdiction.sql): the
    country, and the state of a US sale (`US-CA`, `DE`)."""
    if country is None:
        return None
    return country + (f"-{state}" if country == "US" and state else "")


def _rate_jurisdictions(detail: SalesDetail) -> dict[str, str]:
    """Tax rate id -> its jurisdiction: ISO from its country and state, else its free-text name."""
    return {rate["id"]: iso_jurisdiction(rate["country"], rate["state"]) or rate["jurisdiction"] for rate in detail.tax_rates}


def _stripe_tax(transaction: dict) -> tuple[str, int]:
    """A Stripe Tax transaction's (jurisdiction, tax): negative for a reversal."""
    place = transaction["customer_details"]["address"]
    return iso_jurisdiction(place["country"], place["state"]), sum(line["amount_tax"] for line in transaction["line_items"]["data"])


def _stripe_taxes(detail: SalesDetail, objects: list[dict]) -> dict[str, tuple[str, int]]:
    """Charge or refund id -> (jurisdiction, tax) of the Stripe Tax transaction its metadata names:
    a charge's transaction, a refund's reversal (negative)."""
    transactions = {transaction["id"]: transaction for transaction in detail.tax_transactions}
    return {item["id"]: _stripe_tax(transactions[item["metadata"][TAX_TRANSACTION_KEY]])
            for item in objects if TAX_TRANSACTION_KEY in item["metadata"]}


def _document_parts(document: dict, jurisdiction: dict[str, str]) -> list[tuple[tuple[str, str | None], int]]:
    """An invoice's or credit note's parts as ((account, jurisdiction of a tax), amount), adding up to its
    total: each line's revenue, then the discounts, the taxes and the shipping, the first line's revenue first."""
    lines = document["lines"]["data"]
    parts = [((REVENUE, None), line["amount"]) for line in lines]
    parts += [((DISCOUNTS, None), -sum(d["amount"] for d in line.get("discount_amounts") or [])) for line in lines]
    parts += [((TAX_ACCOUNTS.get(place, DEFAULT_TAX), place), tax["amount"])
              for line in lines for tax in line["taxes"] for place in [jurisdiction[tax["tax_rate_details"]["tax_rate"]]]]
    return parts + [((SHIPPING, None), document["amount_shipping"])]


def _pro_rata(amount: int, parts: list[tuple[object, int]]) -> dict[object, int]:
    """`amount` booked over `parts` in their proportions, as the ledger does: each part's share
    truncated toward zero, the remainder on the first part; credits negative (journal signs)."""
    total = sum(part for _, part in parts)
    shares = [abs(amount * part) // abs(total) * (1 if (amount * part >= 0) == (total > 0) else -1) for _, part in parts]
    shares[0] += amount - sum(shares)
    booked: dict[object, int] = defaultdict(int)
    for (key, _), share in zip(parts, shares):
        booked[key] -= share
    return booked


def _booked_sales(world: World) -> list[tuple[str, dict, int, dict[tuple[str, str | None], int]]]:
    """Each visible charge's and refund's sale as the ledger splits it: (currency, its balance
    transaction row, gross, journal amount per (account, tax jurisdiction)). Invoices' and credit
    notes' parts exactly, refunds without a credit note pro rata of their charge's invoice; charges
    without an invoice to their category's account less the tax Stripe Tax computed on them, booked
    to its jurisdiction's tax account; their refunds by their Stripe Tax reversal's tax exactly, else
    pro rata."""
    from sandbox.sales import sales  # the detail is built only when asked for

    detail = sales(world)
    jurisdiction = _rate_jurisdictions(detail)
    stripe_taxes = _stripe_taxes(detail, detail.charges)
    reversals = _stripe_taxes(detail, detail.refunds)
    invoices = {invoice["id"]: invoice for invoice in detail.invoices}
    invoice_of_intent = {payment["payment"]["payment_intent"]: invoices[payment["invoice"]] for payment in detail.invoice_payments}
    note_of_refund = {refund["refund"]: note for note in detail.credit_notes for refund in note["refunds"]}
    charges = {charge["id"]: charge for charge in detail.charges}
    visible = {row["id"]: row for row in world.balance_transactions.filter(
        np.asarray(world.balance_transactions.column("created").to_numpy() <= world.as_of)).select(["id", "amount", "event", "created"]).to_pylist()}

    def uninvoiced(charge: dict, amount: int, place: str | None, tax: int) -> list[tuple[tuple[str, str | None], int]]:
        revenue = [((CATEGORY_ACCOUNTS[charge["metadata"]["revenue_category"]], None), amount - tax)]
        return revenue + [((TAX_ACCOUNTS.get(place, DEFAULT_TAX), place), tax)] if tax else revenue

    def parts_of(charge: dict) -> list[tuple[tuple[str, str | None], int]]:
        invoice = invoice_of_intent.get(charge["payment_intent"])
        if invoice is not None:
            return _document_parts(invoice, jurisdiction)
        return uninvoiced(charge, charge["amount_captured"], *stripe_taxes.get(charge["id"], (None, 0)))

    def refund_parts(refund: dict) -> list[tuple[tuple[str, str | None], int]]:
        charge = charges[refund["charge"]]
        if refund["id"] in note_of_refund:
            return _document_parts(note_of_refund[refund["id"]], jurisdiction)
        if refund["id"] in reversals and invoice_of_intent.get(charge["payment_intent"]) is None:
            place, tax = reversals[refund["id"]]
            return uninvoiced(charge, refund["amount"], place, -tax)
        return parts_of(charge)

    booked = []
    for source, parts in [*((charge, parts_of(charge)) for charge in detail.charges),
                          *((refund, refund_parts(refund)) for refund in detail.refunds)]:
        row = visible.get(source["balance_transaction"])
        if row is not None:
            booked.append((source["currency"], row, row["amount"], _pro_rata(row["amount"], parts)))
    return booked


def _sales_split(world: World) -> dict[tuple[str, str], int]:
    """How the sales split moves each visible charge's and refund's gross from its event's account to
    the accounts of what it sold (`_booked_sales`)."""
    moved: dict[tuple[str, str], int] = defaultdict(int)
    for currency, row, gross, parts in _booked_sales(world):
        moved[(currency, EVENT_ACCOUNTS[row["event"]][0])] += gross
        for (account, _), amount in parts.items():
            moved[(currency, account)] += amount
    return moved


def tax_payable_by_period(world: World) -> dict[tuple[str, str, str], int]:
    """Tax payable per (currency, jurisdiction, UTC month of the transaction) as the ledger must book
    it, positive for a liability: invoices' and Stripe Tax's tax, less credit notes' and Stripe Tax
    reversals' exactly, less the pro rata share of refunds with neither. Tax without a jurisdiction
    (shipping's) is left out."""
    payable: dict[tuple[str, str, str], int] = defaultdict(int)
    for currency, row, _, parts in _booked_sales(world):
        period = datetime.fromtimestamp(row["created"], tz=timezone.utc).strftime("%Y-%m")
        for (_, place), amount in parts.items():
            if place is not None:
                payable[(currency, place, period)] -= amount
    return {key: amount for key, amount in payable.items() if amount}


@dataclass(frozen=True)
class RevenueTruth:
    """What the world's sales detail says, per currency, in minor units: what the GL split must book.

    Revenue by product is `product_sales - product_discounts - product_credited`; tax payable by
    jurisdiction is `tax_charged_by_jurisdiction()`: invoices' tax less credit notes'
    (`tax_by_jurisdiction`) plus the Stripe Tax of charges without an invoice (`stripe_tax_charged`) less
the tax their refunds' Stripe Tax reversals gave back (`stripe_tax_reversed`, positive).
    Charges without an invoice are `uninvoiced` by their metadata's `revenue_category`, net of their
    Stripe Tax, and `uninvoiced_reversed` what refunds with a Stripe Tax reversal took back from them
    (the refund less the reversal's tax); refunds with neither a credit note nor a Stripe Tax
    reversal are `refunds_without_credit_note` (how they split is the ledger's policy). Only charges of the world's own transactions count (not those from before
    it that a refund reaches back to), except in `stripe_tax_by_jurisdiction`: the tax of every
    Stripe Tax transaction, as ingestion stages them. Jurisdictions are ISO style, the country and
    `-STATE` for a US state (`US-CA`, `DE`, `iso_jurisdiction`); a rate without a country keeps its
    free-text name (`EXPORT`).
    """

    product_sales: dict[tuple[str, str], int]
    product_discounts: dict[tuple[str, str], int]
    product_credited: dict[tuple[str, str], int]
    tax_by_jurisdiction: dict[tuple[str, str], int]
    shipping: dict[str, int]
    uninvoiced: dict[tuple[str, str], int]
    refunds_without_credit_note: dict[str, int]
    stripe_tax_by_jurisdiction: dict[tuple[str, str], int]
    stripe_tax_charged: dict[tuple[str, str], int]
    stripe_tax_reversed: dict[tuple[str, str], int]
    uninvoiced_reversed: dict[tuple[str, str], int]

    def revenue_by_product(self) -> dict[tuple[str, str], int]:
        keys = set(self.product_sales) | set(self.product_credited)
        return {key: self.product_sales.get(key, 0) - self.product_discounts.get(key, 0) - self.product_credited.get(key, 0) for key in keys}

    def tax_charged_by_jurisdiction(self) -> dict[tuple[str, str], int]:
        """The tax sales charged less what credit notes and Stripe Tax reversals gave back, invoices' and Stripe Tax's."""
        keys = set(self.tax_by_jurisdiction) | set(self.stripe_tax_charged) | set(self.stripe_tax_reversed)
        return {key: self.tax_by_jurisdiction.get(key, 0) + self.stripe_tax_charged.get(key, 0) - self.stripe_tax_reversed.get(key, 0)
                for key in keys}


def revenue_truth(world: World) -> RevenueTruth:
    from sandbox.sales import sales  # the detail is built only when asked for

    detail = sales(world)
    jurisdiction = _rate_jurisdictions(detail)
    stripe_taxes = _stripe_taxes(detail, detail.charges)
    reversals = _stripe_taxes(detail, detail.refunds)
    product_of_line: dict[str, str] = {}
    sums: dict[str, dict] = {name: defaultdict(int) for name in RevenueTruth.__dataclass_fields__}
    in_world = {charge["id"] for charge in detail.charges if charge["created"] >= world.spec.start_ts}
    for invoice in detail.invoices:
        currency = invoice["currency"]
        sums["shipping"][currency] += invoice["amount_shipping"]
        for line in invoice["lines"]["data"]:
            product = line["pricing"]["price_details"]["product"]
            product_of_line[line["id"]] = product
            sums["product_sales"][(currency, product)] += line["amount"]
            sums["product_discounts"][(currency, product)] += sum(d["amount"] for d in line["discount_amounts"])
            for tax in line["taxes"]:
                sums["tax_by_jurisdiction"][(currency, jurisdiction[tax["tax_rate_details"]["tax_rate"]])] += tax["amount"]
    credited_refunds = set()
    for note in detail.credit_notes:
        currency = note["currency"]
        credited_refunds.update(refund["refund"] for refund in note["refunds"])
        sums["shipping"][currency] -= note["amount_shipping"]
        for line in note["lines"]["data"]:
            sums["product_credited"][(currency, product_of_line[line["invoice_line_item"]])] += line["amount"]
            for tax in line["taxes"]:
                sums["tax_by_jurisdiction"][(currency, jurisdiction[tax["tax_rate_details"]["tax_rate"]])] -= tax["amount"]
    for charge in detail.charges:
        place, tax = stripe_taxes.get(charge["id"], (None, 0))
        if place is not None:
            sums["stripe_tax_by_jurisdiction"][(charge["currency"], place)] += tax
        if "revenue_category" in charge["metadata"] and charge["id"] in in_world:
            sums["uninvoiced"][(charge["currency"], charge["metadata"]["revenue_category"])] += charge["amount"] - tax
            if place is not None:
                sums["stripe_tax_charged"][(charge["currency"], place)] += tax
    charges = {charge["id"]: charge for charge in detail.charges}
    for refund in detail.refunds:
        if refund["id"] in reversals:
            place, tax = reversals[refund["id"]]
            sums["stripe_tax_reversed"][(refund["currency"], place)] -= tax
            category = charges[refund["charge"]]["metadata"]["revenue_category"]
            sums["uninvoiced_reversed"][(refund["currency"], category)] += refund["amount"] + tax
        elif refund["id"] not in credited_refunds:
            sums["refunds_without_credit_note"][refund["currency"]] += refund["amount"]
    return RevenueTruth(**{name: dict(values) for name, values in sums.items()})
