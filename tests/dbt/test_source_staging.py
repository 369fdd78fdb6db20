"""The staging models of Stripe's source objects, built by a real `dbt build` (every data test) on a
warehouse the real SDK filled from the sandbox API (the shared `four_currency_sales_ledger`): the
detail the GL split books from, in four currencies, ties to the simulator's truth to the minor unit."""

import duckdb
import pytest

from sandbox.ground_truth import revenue_truth
from tests.dbt.builders import four_currency_sales_ledger


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
