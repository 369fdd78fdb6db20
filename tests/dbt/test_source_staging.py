"""The staging models of Stripe's source objects, built by a real `dbt build` (every data test) on a
warehouse the real SDK filled from the sandbox API (the shared `four_currency_sales_ledger`): the
detail the GL split books from, in four currencies, ties to the simulator's truth to the minor unit;
and the payout reconciliation report carries each item's charge, invoice, customer, card and
configured metadata."""

import os
import subprocess
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest

from ledger.dbt_project import DBT_PROJECT_DIR, dbt_executable
from ledger.money import format_major
from ledger.sources.source_tables import TAX_TRANSACTION_KEY
from sandbox.ground_truth import revenue_truth
from sandbox.sales import sales
from tests.dbt.builders import copy_ledger, four_currency_sales_ledger


@pytest.fixture(scope="module")
def built():
    return four_currency_sales_ledger()


def query(path, sql):
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_revenue_per_product_from_staging_equals_the_truth(built):
    world, path = built
    sold = query(path, """
        select currency, product_id, sum(amount_minor) - sum(discount_amount_minor) from main.stg_stripe__invoice_line_items group by all""")
    credited = query(path, """
        select credit_notes.currency, lines.product_id, sum(credited.amount_minor)
        from main.stg_stripe__credit_note_line_items as credited
        join main.stg_stripe__credit_notes as credit_notes using (credit_note_id)
        join main.stg_stripe__invoice_line_items as lines using (invoice_line_item_id)
        group by all""")
    net = {(currency, product): amount for currency, product, amount in sold}
    for currency, product, amount in credited:
        net[(currency, product)] -= amount
    assert net == revenue_truth(world).revenue_by_product()
    assert {currency for currency, _ in net} == {"usd", "eur", "jpy", "kwd"}


def test_tax_per_jurisdiction_from_staging_equals_the_truth(built):
    world, path = built
    taxed = query(path, """
        select currency, jurisdiction, sum(amount_minor) from (
            select invoices.currency, rates.jurisdiction, taxes.amount_minor
            from main.stg_stripe__invoice_line_item_taxes as taxes
            join main.stg_stripe__invoices as invoices using (invoice_id)
            join main.stg_stripe__tax_rates as rates using (tax_rate_id)
            union all
            select credit_notes.currency, rates.jurisdiction, -taxes.amount_minor
            from main.stg_stripe__credit_note_line_item_taxes as taxes
            join main.stg_stripe__credit_notes as credit_notes using (credit_note_id)
            join main.stg_stripe__tax_rates as rates using (tax_rate_id)
        ) group by all""")
    assert {(currency, place): amount for currency, place, amount in taxed} == revenue_truth(world).tax_by_jurisdiction


def test_every_charge_of_a_balance_transaction_is_staged_with_its_invoice_or_metadata(built):
    _, path = built
    [(charges, unexplained, card_detail)] = query(path, """
        select count(*),
               count(*) filter (where payments.invoice_id is null and metadata.value is null),
               count(*) filter (where charges.card_brand is not null and charges.card_country is not null and charges.card_funding is not null)
        from main.stg_stripe__balance_transactions as transactions
        join main.stg_stripe__charges as charges on charges.charge_id = transactions.source_id
        left join main.stg_stripe__invoice_payments as payments using (payment_intent_id)
        left join main.stg_stripe__charge_metadata as metadata on metadata.charge_id = charges.charge_id and metadata.key = 'revenue_category'
        where transactions.balance_transaction_type = 'charge'""")
    assert charges > 0 and unexplained == 0 and card_detail == charges


def expected_itemized_columns(world, source_id, gross_minor):
    """What Stripe's payout_reconciliation.itemized.5 says about a transaction's source, from the
    simulator's objects: a refund or dispute carries its charge's ids, card and metadata; the
    customer-facing amount is its object's amount, signed as the transaction moves the balance."""
    detail = sales(world)
    charges = {charge["id"]: charge for charge in detail.charges}
    returned = {item["id"]: item for item in [*detail.refunds, *detail.disputes]}
    if source_id in charges:
        charge, amount, currency = charges[source_id], charges[source_id]["amount"], charges[source_id]["currency"]
    elif source_id in returned:
        charge, amount, currency = charges[returned[source_id]["charge"]], returned[source_id]["amount"], returned[source_id]["currency"]
    else:
        return (None,) * 12
    invoice_of_intent = {payment["payment"]["payment_intent"]: payment["invoice"] for payment in detail.invoice_payments}
    invoices = {invoice["id"]: invoice for invoice in detail.invoices}
    invoice = invoices.get(invoice_of_intent.get(charge["payment_intent"]))
    card = charge["payment_method_details"]["card"]
    amount = amount if gross_minor >= 0 else -amount
    return (
        charge["id"], charge["payment_intent"], invoice and invoice["id"],
        invoice and invoice["parent"] and invoice["parent"]["subscription_details"]["subscription"], charge["customer"],
        amount, format_major(amount, currency), currency, card["brand"], card["country"], card["funding"], charge["metadata"]["order_id"],
    )


def test_payout_reconciliation_carries_each_items_charge_invoice_customer_card_and_metadata(built):
    world, path = built
    rows = query(path, """
        select source_id, gross_minor, charge_id, payment_intent_id, invoice_id, subscription_id, customer_id, customer_facing_amount_minor,
               customer_facing_amount, customer_facing_currency, card_brand, card_country, card_funding, "payment_metadata[order_id]"
        from main.rpt_payout_reconciliation""")
    assert [row[2:] for row in rows] == [expected_itemized_columns(world, *row[:2]) for row in rows]
    categories = dict(query(path, """
        select reporting_category, count(*) from main.rpt_payout_reconciliation
        where charge_id is not null and card_brand is not null and customer_id like 'cus_%' group by all"""))
    assert {"charge", "refund", "dispute", "partial_capture_reversal"} <= set(categories)
    [(invoiced, subscribed, in_four_currencies)] = query(path, """
        select count(invoice_id), count(subscription_id), count(distinct customer_facing_currency) from main.rpt_payout_reconciliation""")
    assert invoiced > subscribed > 0 and in_four_currencies == 4



def test_stripe_tax_of_charges_without_an_invoice_is_staged_per_charge_with_its_jurisdiction_and_rate(built):
    world, path = built
    detail = sales(world)
    transactions = {transaction["id"]: transaction for transaction in detail.tax_transactions}
    expected = []
    for charge in detail.charges:
        if TAX_TRANSACTION_KEY in charge["metadata"]:
            transaction = transactions[charge["metadata"][TAX_TRANSACTION_KEY]]
            [line] = transaction["line_items"]["data"]
            place = transaction["customer_details"]["address"]
            jurisdiction = place["country"] + (f"-{place['state']}" if place["state"] else "")
            rate = (Decimal(line["amount_tax"]) * 100 / line["amount"]).quantize(Decimal("0.0001"), ROUND_HALF_UP)
            assert "revenue_category" in charge["metadata"]  # a charge without an invoice
            assert line["amount"] + line["amount_tax"] == charge["amount"]
            expected.append((charge["id"], transaction["id"], charge["currency"], jurisdiction, line["amount"], line["amount_tax"], rate))
    staged = query(path, """
        select charge_id, tax_transaction_id, currency, jurisdiction, taxable_minor, tax_minor, effective_tax_rate_percent
        from main.int_charge_stripe_taxes order by charge_id""")
    assert staged == sorted(expected)
    by_jurisdiction = query(path, "select currency, jurisdiction, sum(tax_minor) from main.int_charge_stripe_taxes group by all")
    assert {(currency, place): tax for currency, place, tax in by_jurisdiction} == revenue_truth(world).stripe_tax_by_jurisdiction
    assert {place for _, place, _ in by_jurisdiction} >= {"US-CA", "US-NY", "US-TX", "JP"}
    assert len(staged) == len([t for t in detail.tax_transactions if t["type"] == "transaction"]) > 0


def test_connect_transfers_are_staged_as_the_source_of_their_balance_transactions(built):
    world, path = built
    staged = query(path, """
        select transfers.transfer_id, transfers.amount_minor, transfers.destination_account_id, transactions.amount_minor
        from main.stg_stripe__transfers as transfers
        join main.stg_stripe__balance_transactions as transactions on transactions.source_id = transfers.transfer_id
        order by 1""")
    assert staged == sorted((t["id"], t["amount"], t["destination"], -t["amount"]) for t in sales(world).transfers)
    assert len(staged) == 2


def test_a_metadata_key_that_cannot_be_a_column_is_refused_naming_the_variable(built, tmp_path):
    _, shared = built
    path = copy_ledger(shared, tmp_path / "copy")  # dbt opens the file for writing; others read the shared one
    target = tmp_path / "target"
    refused = subprocess.run(
        [dbt_executable(), "compile", "--select", "rpt_payout_reconciliation", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path", str(target)],
        env={**os.environ, "CLOSE_WAREHOUSE": str(path), "CLOSE_PAYOUT_RECONCILIATION_METADATA_KEYS": "order_id, x'; drop table y"},
        capture_output=True, text=True, check=False)
    assert refused.returncode != 0
    assert ("CLOSE_PAYOUT_RECONCILIATION_METADATA_KEYS: metadata key 'x'; drop table y' may only hold letters, digits, '_', '-' and '.' "
            "(at most 40)") in refused.stdout
