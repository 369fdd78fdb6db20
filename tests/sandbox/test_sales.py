"""The simulator's sales detail: invoices that total their charges, credit notes that total their
refunds, and a ground truth that ties to the balance transactions, in JPY, USD, EUR and KWD."""

from collections import defaultdict

import pytest

from ledger.sources.source_tables import TAX_TRANSACTION_KEY
from sandbox.ground_truth import revenue_truth
from sandbox.merchant import WorldSpec, simulate
from sandbox.sales import sales

# Four currencies of exponents 0, 2, 2 and 3.
FOUR_CURRENCIES = WorldSpec(seed=7, days=10, transactions_per_day=60, currencies=("usd", "eur", "jpy", "kwd"))


@pytest.fixture(scope="module")
def world():
    return simulate(FOUR_CURRENCIES)


def test_every_invoice_totals_its_charge_and_its_lines_discounts_taxes_and_shipping(world):
    detail = sales(world)
    gross = {row["source"]: row["amount"] for row in world.balance_transactions.to_pylist() if row["event"] == "charge"}
    charges = {charge["id"]: charge for charge in detail.charges}
    charge_of_intent = {charge["payment_intent"]: charge["id"] for charge in detail.charges}
    invoices = {invoice["id"]: invoice for invoice in detail.invoices}
    assert {invoice["currency"] for invoice in detail.invoices} == {"usd", "eur", "jpy", "kwd"}
    for payment in detail.invoice_payments:
        invoice, charge = invoices[payment["invoice"]], charges[charge_of_intent[payment["payment"]["payment_intent"]]]
        assert invoice["total"] == payment["amount_paid"] == charge["amount"] == gross[charge["id"]]
        lines = invoice["lines"]["data"]
        discounts = sum(d["amount"] for line in lines for d in line["discount_amounts"])
        taxes = sum(t["amount"] for line in lines for t in line["taxes"])
        assert sum(line["amount"] for line in lines) == invoice["subtotal"]
        assert invoice["subtotal"] - discounts + taxes + invoice["amount_shipping"] == invoice["total"]
        assert taxes == sum(t["amount"] for t in invoice["total_taxes"])
        assert discounts == sum(d["amount"] for d in invoice["total_discount_amounts"])
    assert len(detail.invoice_payments) == len(detail.invoices) > 0


def test_every_credit_note_totals_its_refund_on_lines_of_its_invoice(world):
    detail = sales(world)
    refunds = {refund["id"]: refund for refund in detail.refunds}
    lines_of = {invoice["id"]: {line["id"] for line in invoice["lines"]["data"]} for invoice in detail.invoices}
    assert detail.credit_notes
    for note in detail.credit_notes:
        [credited] = note["refunds"]
        refund = refunds[credited["refund"]]
        lines = note["lines"]["data"]
        taxes = sum(t["amount"] for line in lines for t in line["taxes"])
        assert sum(line["amount"] for line in lines) + taxes + note["amount_shipping"] == note["total"] == refund["amount"] == credited["amount_refunded"]
        assert {line["invoice_line_item"] for line in lines} <= lines_of[note["invoice"]]


def test_refunds_and_disputes_reach_an_earlier_charge_with_enough_left(world):
    detail = sales(world)
    charges = {charge["id"]: charge for charge in detail.charges}
    refunded = defaultdict(int)
    for refund in detail.refunds:
        charge = charges[refund["charge"]]
        assert charge["created"] <= refund["created"] and charge["currency"] == refund["currency"]
        refunded[charge["id"]] += refund["amount"]
    for charge_id, amount in refunded.items():
        assert charges[charge_id]["amount_refunded"] == amount <= charges[charge_id]["amount_captured"]
    [dispute] = detail.disputes
    assert charges[dispute["charge"]]["disputed"] and charges[dispute["charge"]]["amount"] >= dispute["amount"]


def test_refunds_of_stripe_tax_sales_record_full_and_partial_reversals_of_the_charges_transaction(world):
    """A refund of a Stripe Tax charge names (metadata `tax_transaction`) a reversal of the charge's
    transaction: the refund split in its proportions, the tax rounded half up, negative; a whole
    refund negates the original (Stripe's `mode` full). Some refunds have none (pro rata in the ledger)."""
    detail = sales(world)
    transactions = {transaction["id"]: transaction for transaction in detail.tax_transactions}
    charges = {charge["id"]: charge for charge in detail.charges}
    kinds = defaultdict(int)
    for refund in detail.refunds:
        charge = charges[refund["charge"]]
        if TAX_TRANSACTION_KEY not in charge["metadata"]:
            assert TAX_TRANSACTION_KEY not in refund["metadata"]
            continue
        original = transactions[charge["metadata"][TAX_TRANSACTION_KEY]]
        if TAX_TRANSACTION_KEY not in refund["metadata"]:
            kinds["unrecorded"] += 1
            continue
        reversal = transactions[refund["metadata"][TAX_TRANSACTION_KEY]]
        [line], [original_line] = reversal["line_items"]["data"], original["line_items"]["data"]
        assert (reversal["type"], reversal["reversal"], line["type"], line["reversal"]) == (
            "reversal", {"original_transaction": original["id"]}, "reversal", {"original_line_item": original_line["id"]})
        assert reversal["customer_details"] == original["customer_details"] and reversal["created"] == refund["created"]
        assert line["amount"] + line["amount_tax"] == -refund["amount"]
        assert -line["amount_tax"] == (2 * refund["amount"] * original_line["amount_tax"] + charge["amount_captured"]) // (2 * charge["amount_captured"])
        if refund["amount"] == charge["amount_captured"]:
            assert (line["amount"], line["amount_tax"]) == (-original_line["amount"], -original_line["amount_tax"])
            kinds["full"] += 1
        else:
            kinds["partial"] += 1
    assert kinds["full"] and kinds["partial"] and kinds["unrecorded"]
    assert len({t["reference"] for t in detail.tax_transactions}) == len(detail.tax_transactions)


def test_revenue_tax_and_shipping_truth_ties_to_the_balance_transactions_to_the_minor_unit(world):
    truth = revenue_truth(world)
    transactions = world.balance_transactions.to_pylist()
    for currency in ("usd", "eur", "jpy", "kwd"):
        charged = sum(row["amount"] for row in transactions if row["currency"] == currency and row["event"] == "charge")
        refunded = -sum(row["amount"] for row in transactions
                        if row["currency"] == currency and row["event"] in ("refund", "partial_capture_reversal"))
        credit_noted = refunded - truth.refunds_without_credit_note.get(currency, 0)
        booked = (sum(v for (c, _), v in truth.revenue_by_product().items() if c == currency)
                  + sum(v for (c, _), v in truth.tax_charged_by_jurisdiction().items() if c == currency)
                  + truth.shipping.get(currency, 0) + sum(v for (c, _), v in truth.uninvoiced.items() if c == currency)
                  - sum(v for (c, _), v in truth.uninvoiced_reversed.items() if c == currency))
        assert booked == charged - credit_noted, currency


def test_tax_jurisdictions_include_us_states_eu_vat_reverse_charge_and_a_zero_rated_export(world):
    truth = revenue_truth(world)
    jurisdictions = {key for key in truth.tax_by_jurisdiction}
    assert {("usd", "US-CA"), ("usd", "US-NY"), ("usd", "US-TX"), ("eur", "DE"), ("eur", "FR"), ("jpy", "JP")} <= jurisdictions
    # Reverse charge (a Dutch business customer) and zero-rated exports (no country): invoiced, taxed at zero.
    assert truth.tax_by_jurisdiction[("eur", "NL")] == 0
    assert truth.tax_by_jurisdiction[("kwd", "EXPORT")] == 0
    assert all(amount > 0 for (currency, place), amount in truth.tax_by_jurisdiction.items() if place not in ("NL", "EXPORT"))
    reasons = {tax["taxability_reason"] for invoice in sales(world).invoices for tax in invoice["total_taxes"]}
    assert reasons == {"standard_rated", "reverse_charge", "zero_rated"}


def test_the_detail_is_deterministic_and_leaves_the_world_as_it_was(world):
    again = simulate(FOUR_CURRENCIES)
    assert again.balance_transactions.equals(world.balance_transactions)
    assert sales(again).by_resource() == sales(world).by_resource()
