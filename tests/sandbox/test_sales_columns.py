"""The column-wise source objects of `bench close --source-objects` (sandbox.sales_columns): the raw
tables the object path lands, column for column and type for type, with sales of the same shape
that tie to the balance transactions, so a real dbt build on them passes every proof."""

from datetime import datetime

import duckdb
import pytest

from ledger import warehouse
from sandbox import catalog
from sandbox.merchant import WorldSpec, simulate
from sandbox.raw_tables import SOURCE, load_world, source_object_rows
from sandbox import sales_columns
from sandbox.sales_columns import source_object_tables
from tests.dbt.builders import build, statuses

# About 2,000 transactions in the benchmark's five currencies, with Connect transfers.
WORLD = WorldSpec(seed=23, days=10, transactions_per_day=200, currencies=("usd", "eur", "gbp", "jpy", "kwd"), connect_transfers=True)
LOADED_AT = datetime(2026, 12, 1)
SALES_PROOFS = ("sales_split_ties_to_gross", "sales_documents_tie_to_totals", "tax_payable_ties_to_tax")


@pytest.fixture(scope="module")
def world():
    return simulate(WORLD)


@pytest.fixture(scope="module")
def built(world, tmp_path_factory):
    """The world landed with its generated source objects, in chunks of three days as a big world
    is, and built by dbt: (warehouse, run results)."""
    path = tmp_path_factory.mktemp("generated-sales") / "warehouse.duckdb"
    with warehouse.connect(path) as connection, pytest.MonkeyPatch.context() as patch:
        patch.setattr(sales_columns, "CHUNK_TRANSACTIONS", 100)
        load_world(connection, world, generated_sales=True)
    return path, build(path)


def test_a_big_world_is_drawn_a_few_days_at_a_time_and_no_id_repeats(world, monkeypatch):
    monkeypatch.setattr(sales_columns, "CHUNK_TRANSACTIONS", 100)
    chunks = list(sales_columns.source_object_chunks(world, SOURCE, LOADED_AT))
    # Ten days in chunks of three (the first also holds what came before the world); the catalog once.
    assert len(chunks) == 4 and [len(chunk.get("stripe_products", [])) for chunk in chunks] == [len(catalog.PRODUCTS), 0, 0, 0]
    for name, key in [("stripe_charges", "id"), ("stripe_invoices", "id"), ("stripe_invoice_line_items", "id"), ("stripe_credit_notes", "id")]:
        ids = [value for chunk in chunks for value in chunk[name][key].to_pylist()]
        assert len(ids) == len(set(ids)) > 0, name


def one(path, sql):
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(sql).fetchone()


def test_the_generated_tables_have_the_columns_and_types_the_objects_land(world):
    generated = source_object_tables(world, SOURCE, LOADED_AT)
    landed = source_object_rows(world, LOADED_AT)
    assert {name: table.schema for name, table in generated.items()} == {name: table.schema for name, table in landed.items()}
    assert all(table.num_rows for table in generated.values())


def test_every_invoice_and_credit_note_ties_to_its_charge_or_refund(built):
    path, _ = built
    untied_invoices = one(path, """
        select count(*), count(*) filter (where i.total <> c.amount or l.lines <> i.subtotal
                                          or l.lines - l.discounts + l.taxes + i.amount_shipping <> i.total
                                          or l.discounts <> i.total_discount_amount or l.taxes <> i.total_tax_amount)
        from raw.stripe_invoices i
        join (select invoice_id, sum(amount) as lines, sum(discount_amount) as discounts, sum(tax_amount) as taxes
              from raw.stripe_invoice_line_items group by all) l on l.invoice_id = i.id
        join raw.stripe_invoice_payments p on p.invoice_id = i.id join raw.stripe_charges c on c.payment_intent_id = p.payment_intent_id""")
    untied_notes = one(path, """
        select count(*), count(*) filter (where n.total <> r.amount or l.lines + l.taxes + n.amount_shipping <> n.total
                                          or l.taxes <> n.total_tax_amount or n.invoice_id <> 'in_' || split_part(r.charge_id, '_', 2))
        from raw.stripe_credit_notes n join raw.stripe_refunds r on r.id = n.refund_id
        join (select credit_note_id, sum(amount) as lines, sum(tax_amount) as taxes from raw.stripe_credit_note_line_items group by all) l
          on l.credit_note_id = n.id""")
    # A charge's refunds never exceed what it captured, and come after it.
    overrefunded = one(path, """
        select count(*) from raw.stripe_charges c
        where c.amount_refunded > c.amount_captured or c.amount_refunded <> (select coalesce(sum(amount), 0) from raw.stripe_refunds r
                                                                            where r.charge_id = c.id and r.created > c.created)""")
    untaxed = one(path, """
        select count(*), count(*) filter (where l.amount + l.amount_tax <> c.amount)
        from raw.stripe_tax_transactions t join raw.stripe_tax_transaction_line_items l on l.tax_transaction_id = t.id
        join raw.stripe_charge_metadata m on m.key = 'tax_transaction' and m.value = t.id join raw.stripe_charges c on c.id = m.charge_id""")
    # A refund of a Stripe Tax charge names its reversal: of the charge's transaction, negative, the refund in all.
    reversed_ = one(path, """
        select count(*),
               count(*) filter (where l.amount + l.amount_tax <> -r.amount or t.reversed_transaction_id <> m.value or l.amount_tax > 0
                                or t.type <> 'reversal'),
               count(*) filter (where r.amount = c.amount_captured)
        from raw.stripe_refunds r join raw.stripe_tax_transactions t on t.id = json_extract_string(r.metadata, '$.tax_transaction')
        join raw.stripe_tax_transaction_line_items l on l.tax_transaction_id = t.id join raw.stripe_charges c on c.id = r.charge_id
        join raw.stripe_charge_metadata m on m.charge_id = c.id and m.key = 'tax_transaction'""")
    transactions = one(path, "select count(*) from raw.stripe_balance_transactions where type = 'charge'")
    charges = one(path, "select count(*) from raw.stripe_charges where balance_transaction_id in (select id from raw.stripe_balance_transactions)")
    assert untied_invoices[0] > 1_000 and untied_invoices[1] == 0
    assert untied_notes[0] > 20 and untied_notes[1] == 0
    assert overrefunded == (0,)
    assert untaxed[0] > 10 and untaxed[1] == 0
    assert reversed_[0] > 5 and reversed_[1] == 0 and 0 < reversed_[2] < reversed_[0]
    assert charges == transactions


def test_the_sales_have_the_shape_of_the_sandboxs(built, world):
    path, _ = built
    with duckdb.connect(str(path), read_only=True) as connection:
        rates = {row[0] for row in connection.execute(
            "select distinct r.jurisdiction from raw.stripe_invoice_line_item_taxes t join raw.stripe_tax_rates r on r.id = t.tax_rate_id").fetchall()}
    assert rates == {catalog.TAX_RATES[key].jurisdiction for code in world.spec.currencies for key in catalog.RATES_BY_CURRENCY[code]}
    products, fixed_lines, custom_lines, most_lines = one(path, """
        select count(distinct l.product_id), count(*) filter (where p.unit_amount is not null), count(*) filter (where p.unit_amount is null),
               max(lines) from raw.stripe_invoice_line_items l join raw.stripe_prices p on p.id = l.price_id and p.product_id = l.product_id
        join (select invoice_id, count(*) as lines from raw.stripe_invoice_line_items group by all) n using (invoice_id)""")
    invoices, discounted, shipped, subscribed = one(path, """
        select count(*), count(*) filter (where total_discount_amount > 0), count(*) filter (where amount_shipping > 0),
               count(*) filter (where subscription_id is not null) from raw.stripe_invoices""")
    charges, uninvoiced, categorized = one(path, """
        select count(*), count(*) filter (where id not in (select 'ch_' || split_part(invoice_id, '_', 2) from raw.stripe_invoice_payments)),
               count(*) filter (where json_extract_string(metadata, '$.revenue_category') is not null) from raw.stripe_charges""")
    assert products == len(catalog.PRODUCTS) and fixed_lines > 0 and most_lines == 3
    assert custom_lines == invoices
    assert 0.2 < discounted / invoices < 0.4 and shipped > 0 and subscribed > 0
    assert 0.6 < invoices / charges < 0.85 and categorized == uninvoiced > 0


def test_a_dbt_build_on_the_generated_tables_passes_every_proof(built):
    path, run_results = built
    by_node = statuses(run_results)
    assert {node: status for node, status in by_node.items() if status not in ("success", "pass")} == {}
    assert [by_node[proof] for proof in SALES_PROOFS] == ["pass"] * len(SALES_PROOFS)
    # Every charge of the world has a document (an invoice, or a revenue category): each is split, none books one gross line.
    split, charges = one(path, """
        select (select count(distinct balance_transaction_id) from main.int_balance_transaction_sales_split where refund_id is null),
               (select count(*) from raw.stripe_charges where balance_transaction_id in (select id from raw.stripe_balance_transactions))""")
    assert split == charges > 1_000
