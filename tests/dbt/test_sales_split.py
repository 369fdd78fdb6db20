"""The GL split of sales (issue #17 item 2) on the shared four-currency ledger (USD, EUR, JPY 0 and
KWD 3 decimals; the real SDK ingested the sandbox API's source objects, a real `dbt build` booked
and proved them): revenue per product, tax per jurisdiction and the categories of charges without
an invoice equal the simulator's truth to the minor unit; refunds reverse exactly (credit notes,
Stripe Tax reversals) or pro rata (the rounding remainder on the document's first revenue line);
tax payable per jurisdiction and period equals the truth net of reversals; a product Stripe does
not list books to suspense and the warning check says so."""

import json
from collections import defaultdict

import pytest

from ledger import period_close, warehouse
from ledger.dbt_build import target_dir
from ledger.sources.source_tables import TAX_TRANSACTION_KEY
from sandbox.ground_truth import revenue_truth, tax_payable_by_period
from sandbox.sales import sales
from tests.dbt.builders import build, compiled_test_sql, copy_ledger, four_currency_sales_ledger, project_copy, query, statuses

SPLIT_PROOFS = ("sales_split_ties_to_gross", "sales_documents_tie_to_totals", "tax_payable_ties_to_tax")


@pytest.fixture(scope="module")
def built():
    return four_currency_sales_ledger()


def sale_lines(path, source_id: str) -> dict[str, int]:
    """The journal's `sale:` lines of one balance transaction, by role, signed minor units."""
    return dict(query(path, """
        select line_role, sum(amount_minor) from main.fct_journal_line_sources
        where source_id = ? and starts_with(line_role, 'sale:') group by line_role""", [source_id]))


def test_revenue_per_product_the_journal_books_equals_the_truth(built):
    world, path = built
    truth = revenue_truth(world)
    booked = {(currency, product): amount for currency, product, amount in query(path, """
        select currency, split_part(line_role, ':', 3), -sum(amount_minor)
        from main.fct_journal_line_sources
        where starts_with(line_role, 'sale:revenue:prod_') or starts_with(line_role, 'sale:discount:')
        group by all""")}
    # Refunds without a credit note take revenue back pro rata: the truth leaves them to the ledger.
    taken_back = dict(((currency, product), amount) for currency, product, amount in query(path, """
        select currency, product_id, sum(amount_minor) from main.int_balance_transaction_sales_split
        where split_basis = 'invoice_pro_rata' and component_kind in ('revenue', 'discount') group by all"""))
    assert {key: amount + taken_back.get(key, 0) for key, amount in booked.items()} == truth.revenue_by_product()
    assert {currency for currency, _ in booked} == {"usd", "eur", "jpy", "kwd"}
    # The mart reads the same: sales less discounts less credit notes, per product.
    reported = {(currency, product): amount for currency, product, amount in query(path, """
        select currency, product_id, sum(sales_minor - discounts_minor - credited_minor)
        from main.rpt_revenue_by_product where product_id is not null group by all""")}
    assert reported == truth.revenue_by_product()


def test_refunds_without_a_credit_note_take_back_exactly_their_amount(built):
    world, path = built
    taken_back = dict(query(path, """
        select currency, sum(amount_minor) from main.int_balance_transaction_sales_split
        where split_basis in ('invoice_pro_rata', 'charge_pro_rata') group by currency"""))
    assert taken_back == revenue_truth(world).refunds_without_credit_note


def test_tax_per_jurisdiction_equals_the_truth_and_books_to_its_account(built):
    world, path = built
    reported = {(currency, place): amount for currency, place, amount in query(path, """
        select currency, jurisdiction, sum(tax_collected_minor - tax_credited_minor)
        from main.rpt_tax_payable_by_jurisdiction group by all""")}
    # Invoices' tax rates and Stripe Tax name a jurisdiction alike (`US-CA`), so each has one row of tax.
    truth = revenue_truth(world).tax_charged_by_jurisdiction()
    assert {key: amount for key, amount in reported.items() if amount} == {key: amount for key, amount in truth.items() if amount}
    assert revenue_truth(world).stripe_tax_charged
    accounts = dict(query(path, "select distinct jurisdiction, account_code from main.rpt_tax_payable_by_jurisdiction"))
    assert {place: accounts[place] for place in ("US-CA", "US-NY", "US-TX", "DE", "FR", "JP")} == {
        "US-CA": "2010", "US-NY": "2011", "US-TX": "2012", "DE": "2020", "FR": "2021", "JP": "2030"}
    # The journal's tax accounts (the seeds' and the policy's default; not every liability: Connect
    # transfers book to 2200 Due to Connected Accounts) hold what the mart says is payable.
    booked = dict(((currency, account), amount) for currency, account, amount in query(path, """
        select currency, account_code, -sum(amount_minor) from main.fct_journal_lines
        where account_code in (
            select account_code from accounting.gl_tax_accounts
            union all
            select default_tax_account_code from accounting.gl_sales_policy
        )
        group by all"""))
    payable = dict(((currency, account), amount) for currency, account, amount in query(path, """
        select currency, account_code, sum(tax_payable_minor) from main.rpt_tax_payable_by_jurisdiction group by all"""))
    assert {key: amount for key, amount in booked.items() if amount} == {key: amount for key, amount in payable.items() if amount}


def test_charges_without_an_invoice_book_to_their_metadata_category(built):
    world, path = built
    reported = {(currency, category): amount for currency, category, amount in query(path, """
        select currency, revenue_category, sum(sales_minor) from main.rpt_revenue_by_product
        where product_id is null group by all""")}
    assert reported == revenue_truth(world).uninvoiced
    assert dict(query(path, "select distinct revenue_category, revenue_account_code from main.rpt_revenue_by_product where product_id is null")) == {
        "services": "4010", "marketplace": "4020"}


def test_a_charge_without_an_invoice_books_its_stripe_tax_to_its_jurisdictions_payable_account(built):
    """A charge without an invoice whose tax Stripe Tax computed books revenue net of that tax to its
    category's account and the tax to its jurisdiction's payable account, to the minor unit."""
    world, path = built
    detail = sales(world)
    transactions = {transaction["id"]: transaction for transaction in detail.tax_transactions}
    payable = {"US-CA": "2010", "US-NY": "2011", "US-TX": "2012", "DE": "2020", "FR": "2021", "JP": "2030"}
    categories = {"services": "4010", "marketplace": "4020"}
    expected: dict[str, dict[tuple[str, str], int]] = {}
    for charge in detail.charges:
        if TAX_TRANSACTION_KEY in charge["metadata"] and charge["created"] >= world.spec.start_ts:
            jurisdiction, tax = tax_of(transactions[charge["metadata"][TAX_TRANSACTION_KEY]])
            category = charge["metadata"]["revenue_category"]
            expected[charge["balance_transaction"]] = {
                (f"sale:revenue:{category}", categories[category]): -(charge["amount"] - tax),
                (f"sale:tax:{jurisdiction}", payable[jurisdiction]): -tax,
            }
    assert booked_sale_lines(path, list(expected)) == expected
    assert {role.removeprefix("sale:tax:") for lines in expected.values() for role, _ in lines if role.startswith("sale:tax:")} >= {
        "US-NY", "US-TX", "DE", "JP"}


def booked_sale_lines(path, source_ids: list[str]) -> dict[str, dict[tuple[str, str], int]]:
    """The journal's sale lines of these sources: per source, (line role, account) -> amount."""
    booked: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    for source, role, account, amount in query(path, """
            select source_id, line_role, account_code, sum(amount_minor) from main.fct_journal_line_sources
            where starts_with(line_role, 'sale:') and source_id in (select unnest(?::varchar[])) group by all""", [source_ids]):
        booked[source][(role, account)] = amount
    return dict(booked)


def stripe_tax_refunds(world) -> list[tuple[dict, dict, dict, dict | None]]:
    """The world's refunds of Stripe Tax charges: (refund, charge, its tax transaction, the refund's reversal or None)."""
    detail = sales(world)
    transactions = {transaction["id"]: transaction for transaction in detail.tax_transactions}
    charges = {charge["id"]: charge for charge in detail.charges}
    return [(refund, charge, transactions[charge["metadata"][TAX_TRANSACTION_KEY]], transactions.get(refund["metadata"].get(TAX_TRANSACTION_KEY)))
            for refund in detail.refunds for charge in [charges[refund["charge"]]] if TAX_TRANSACTION_KEY in charge["metadata"]]


def tax_of(transaction: dict) -> tuple[str, int]:
    """A Stripe Tax transaction's jurisdiction as the ledger names it, and its tax (negative for a reversal)."""
    place = transaction["customer_details"]["address"]
    return place["country"] + (f"-{place['state']}" if place["state"] else ""), sum(line["amount_tax"] for line in transaction["line_items"]["data"])


def assert_refunds_reverse_their_reversals_tax(world, path, refunds) -> list[tuple[int, int]]:
    """Each refund's journal lines: its reversal's tax to its jurisdiction's payable account, debited, and
    the rest of the refund to its category's revenue account, to the minor unit. Returns per refund
    (reversal tax, the pro rata share the ledger would have taken)."""
    payable = {"US-CA": "2010", "US-NY": "2011", "US-TX": "2012", "DE": "2020", "FR": "2021", "JP": "2030"}
    categories = {"services": "4010", "marketplace": "4020"}
    expected, compared = {}, []
    for refund, charge, original, reversal in refunds:
        place, reversed_tax = tax_of(reversal)
        assert reversal["reversal"]["original_transaction"] == original["id"] and reversal["type"] == "reversal"
        category = charge["metadata"]["revenue_category"]
        expected[refund["balance_transaction"]] = {
            (f"sale:revenue:{category}", categories[category]): refund["amount"] + reversed_tax,
            (f"sale:tax:{place}", payable[place]): -reversed_tax,
        }
        compared.append((-reversed_tax, refund["amount"] * tax_of(original)[1] // charge["amount_captured"]))
    assert booked_sale_lines(path, list(expected)) == expected
    # Booked from the reversal itself, which the split names as the document.
    documents = dict(query(path, """
        select distinct refund_id, document_id from main.int_balance_transaction_sales_split
        where split_basis = 'tax_reversal' and refund_id in (select unnest(?::varchar[]))""", [[refund["id"] for refund, *_ in refunds]]))
    assert documents == {refund["id"]: reversal["id"] for refund, _, _, reversal in refunds}
    return compared


def test_a_full_refund_of_a_stripe_tax_charge_reverses_its_tax_by_its_reversal_exactly(built):
    """A refund of a whole Stripe Tax charge (a sale from before the world), recorded with a reversal
    (`mode` full: the original's amounts negated), books the reversal's tax back per jurisdiction."""
    world, path = built
    full = [(refund, charge, original, reversal) for refund, charge, original, reversal in stripe_tax_refunds(world)
            if reversal is not None and refund["amount"] == charge["amount_captured"]]
    assert full
    for _, charge, original, reversal in full:
        assert [line["amount_tax"] for line in reversal["line_items"]["data"]] == [-line["amount_tax"] for line in original["line_items"]["data"]]
    assert_refunds_reverse_their_reversals_tax(world, path, full)


def test_a_partial_refund_of_a_stripe_tax_charge_reverses_its_tax_by_its_reversal_not_pro_rata(built):
    """A part refund recorded with a partial reversal books the reversal's tax (Stripe's rounding, here
    half up), not the ledger's pro rata share (truncated); the world's own charges among them."""
    world, path = built
    partial = [(refund, charge, original, reversal) for refund, charge, original, reversal in stripe_tax_refunds(world)
               if reversal is not None and refund["amount"] < charge["amount_captured"]]
    assert any(charge["created"] >= world.spec.start_ts for _, charge, _, _ in partial)
    compared = assert_refunds_reverse_their_reversals_tax(world, path, partial)
    assert any(reversed_tax != pro_rata for reversed_tax, pro_rata in compared), "every reversal equals the pro rata share: the test proves nothing"


def test_a_refund_of_a_stripe_tax_charge_without_a_reversal_reverses_its_tax_pro_rata(built):
    """Without a reversal, the refund takes the charge's tax pro rata (truncated), the remainder on revenue."""
    world, path = built
    unrecorded = [(refund, charge, original) for refund, charge, original, reversal in stripe_tax_refunds(world) if reversal is None]
    assert any(refund["amount"] < charge["amount_captured"] for refund, charge, _ in unrecorded)
    for refund, charge, original in unrecorded:
        place, tax = tax_of(original)
        share = truncated(-refund["amount"] * tax, charge["amount_captured"])
        category = charge["metadata"]["revenue_category"]
        assert sale_lines(path, refund["balance_transaction"]) == {f"sale:revenue:{category}": refund["amount"] + share, f"sale:tax:{place}": -share}
        assert dict(query(path, "select distinct refund_id, split_basis from main.int_balance_transaction_sales_split where refund_id = ?",
                          [refund["id"]])) == {refund["id"]: "charge_pro_rata"}


def test_tax_payable_per_jurisdiction_and_period_equals_the_truth_net_of_reversals(built):
    world, path = built
    reported = {(currency, place, period): amount for currency, place, period, amount in query(path, """
        select currency, jurisdiction, period, sum(tax_payable_minor) from main.rpt_tax_payable_by_jurisdiction
        where jurisdiction is not null group by all having sum(tax_payable_minor) <> 0""")}
    assert reported == tax_payable_by_period(world)
    # Reversals gave tax back in every currency Stripe Tax applies to (KWD: no standard rate, no Stripe Tax).
    assert {currency for currency, _ in revenue_truth(world).stripe_tax_reversed} == {"usd", "eur", "jpy"}
    [(credited,)] = query(path, """select sum(amount_minor) from main.int_balance_transaction_sales_split
                                   where split_basis = 'tax_reversal' and component_kind = 'tax'""")
    assert credited == sum(revenue_truth(world).stripe_tax_reversed.values()) > 0


def test_every_charge_books_its_sale_and_nothing_on_the_single_revenue_line(built):
    _, path = built
    [(charges, split, gross_lines)] = query(path, """
        select count(distinct transactions.balance_transaction_id),
               count(distinct split.balance_transaction_id),
               count(*) filter (where lines.line_role = 'gross')
        from main.stg_stripe__balance_transactions as transactions
        left join main.int_balance_transaction_sales_split as split using (balance_transaction_id)
        left join main.fct_journal_line_sources as lines on lines.source_id = transactions.balance_transaction_id
        where transactions.balance_transaction_type = 'charge'""")
    assert charges == split > 0 and gross_lines == 0


def test_the_split_proofs_ran_and_passed(built):
    _, path = built
    results = statuses(json.loads((target_dir(path) / "run_results.json").read_text()))
    assert {name: results[name] for name in (*SPLIT_PROOFS, "booked_once", "journal_balances")} == {
        name: "pass" for name in (*SPLIT_PROOFS, "booked_once", "journal_balances")}


def test_the_sales_models_read_or_tested_more_than_once_are_tables(built):
    """A view is computed again by every model and test that reads it: at a million transactions the
    documents' parts were computed twice (31 s for their test alone), the charges' documents five
    times and the transactions' charges four times (docs/benchmarks.md, "Ledger close")."""
    _, path = built
    names = ("int_sales_document_components", "int_charge_sales_documents", "int_balance_transaction_charges")
    assert dict(query(path, """
        select table_name, table_type from information_schema.tables
        where table_schema = 'main' and table_name in ?""", [list(names)])) == {name: "BASE TABLE" for name in names}


def test_a_credit_note_reverses_its_lines_exactly(built):
    """A refund with a credit note books each of its lines, taxes and shipping, debited; among them a
    note of several lines and one with shipping."""
    _, path = built
    notes = query(path, """
        select split.balance_transaction_id, split.document_id,
               count(*) filter (where component_kind = 'revenue'), count(*) filter (where component_kind = 'shipping')
        from main.int_balance_transaction_sales_split as split
        where split.split_basis = 'credit_note'
        group by all order by 1""")
    assert any(lines > 1 for _, _, lines, _ in notes) and any(shipping == 1 for *_, shipping in notes)
    for refund_transaction, note, _, _ in notes:
        expected: dict[str, int] = defaultdict(int)
        for product, amount in query(path, """
                select invoice_lines.product_id, notes.amount_minor from main.stg_stripe__credit_note_line_items as notes
                join main.stg_stripe__invoice_line_items as invoice_lines using (invoice_line_item_id) where notes.credit_note_id = ?""", [note]):
            expected[f"sale:revenue:{product}"] += amount
        for rate, amount in query(path, """
                select tax_rate_id, amount_minor from main.stg_stripe__credit_note_line_item_taxes
                where credit_note_id = ? and amount_minor <> 0""", [note]):
            expected[f"sale:tax:{rate}"] += amount
        [(shipping, total)] = query(path, "select shipping_minor, total_minor from main.stg_stripe__credit_notes where credit_note_id = ?", [note])
        if shipping:
            expected["sale:shipping"] = shipping
        assert sale_lines(path, refund_transaction) == dict(expected), note
        assert sum(expected.values()) == total == -query(
            path, "select amount_minor from main.stg_stripe__balance_transactions where balance_transaction_id = ?", [refund_transaction])[0][0]


def truncated(numerator: int, denominator: int) -> int:
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator < 0) == (denominator < 0) else -quotient


def test_a_partial_refund_without_a_credit_note_reverses_pro_rata_with_the_remainder_on_the_first_line(built):
    """Each part takes refund x part / invoice total, truncated; the first revenue line takes what is left."""
    _, path = built
    refunds = query(path, """
        select split.balance_transaction_id, any_value(split.document_id), any_value(transactions.amount_minor)
        from main.int_balance_transaction_sales_split as split
        join main.stg_stripe__balance_transactions as transactions using (balance_transaction_id)
        where split.split_basis = 'invoice_pro_rata' group by all order by 1""")
    assert {currency for (currency,) in query(path, "select distinct currency from main.int_balance_transaction_sales_split where split_basis = 'invoice_pro_rata'")} >= {"usd", "kwd"}
    remainders = []
    for transaction_id, invoice, amount in refunds:
        parts = query(path, """
            select line_role, amount_minor from (
                select 'sale:revenue:' || product_id as line_role, amount_minor, 0 as kind, position, 0 as tax from main.stg_stripe__invoice_line_items where invoice_id = ?1
                union all
                select 'sale:discount:' || product_id, -discount_amount_minor, 1, position, 0 from main.stg_stripe__invoice_line_items where invoice_id = ?1 and discount_amount_minor <> 0
                union all
                select 'sale:tax:' || taxes.tax_rate_id, taxes.amount_minor, 2, lines.position, taxes.position
                from main.stg_stripe__invoice_line_item_taxes as taxes join main.stg_stripe__invoice_line_items as lines using (invoice_line_item_id)
                where taxes.invoice_id = ?1 and taxes.amount_minor <> 0
                union all
                select 'sale:shipping', shipping_minor, 3, 0, 0 from main.stg_stripe__invoices where invoice_id = ?1 and shipping_minor <> 0
            ) order by kind, position, tax""", [invoice])
        total = sum(part for _, part in parts)
        shares = [truncated(amount * part, total) for _, part in parts]
        remainders.append(amount - sum(shares))
        shares[0] += amount - sum(shares)
        expected: dict[str, int] = defaultdict(int)
        for (role, _), share in zip(parts, shares):
            expected[role] -= share
        assert sale_lines(path, transaction_id) == dict(expected), transaction_id
    assert any(remainders), "no refund of this world left a rounding remainder"


def test_an_unknown_product_books_to_suspense_a_product_rule_and_net_discounts_apply(built, tmp_path):
    """One build of an edited project on a copy: a product Stripe no longer lists, another with its
    own revenue account, and discounts booked net."""
    _, path = built
    ledger = copy_ledger(path, tmp_path / "ledger")
    [(lost, lost_amount)] = query(ledger, """
        select product_id, -sum(amount_minor) from main.int_balance_transaction_sales_split
        where currency = 'jpy' and component_kind in ('revenue', 'discount') and product_id is not null
        group by product_id order by product_id limit 1""")
    [(ruled, ruled_net)] = query(ledger, f"""
        select product_id, -sum(amount_minor) from main.int_balance_transaction_sales_split
        where currency = 'usd' and component_kind in ('revenue', 'discount') and product_id is not null and product_id <> '{lost}'
        group by product_id order by product_id limit 1""")
    project = project_copy(tmp_path / "dbt_project")
    with (project / "seeds" / "gl_revenue_accounts.csv").open("a") as handle:
        handle.write(f"product,{ruled},,4010,a product with its own account\n")
    # The entity's own rule wins over the rule for every entity (2011), and a tax rate's over a jurisdiction's.
    [(new_york_tax,)] = query(ledger, "select -sum(amount_minor) from main.int_balance_transaction_sales_split where jurisdiction = 'US-NY'")
    [(texas_rate,)] = query(ledger, "select min(tax_rate_id) from main.stg_stripe__tax_rates where jurisdiction = 'US-TX'")
    with (project / "seeds" / "gl_tax_accounts.csv").open("a") as handle:
        handle.write(f"jurisdiction,US-NY,main,2000,the entity's own account\ntax_rate,{texas_rate},,2010,a rate's own account\n")
    policy = project / "seeds" / "gl_sales_policy.csv"
    policy.write_text(policy.read_text().replace(",contra_revenue,4050,", ",net,4050,"))
    with warehouse.connect(ledger) as connection:
        connection.execute(f"delete from {warehouse.landed_table('stripe_products')} where id = ?", [lost])
    results = statuses(build(ledger, project_dir=project))

    assert results["assert_no_suspense_postings"] == "warn"
    assert {name: results[name] for name in SPLIT_PROOFS} == {name: "pass" for name in SPLIT_PROOFS}
    suspense = query(ledger, "select reason, suspense_amount_minor from main.rpt_suspense_postings where currency = 'jpy'")
    assert suspense and all(reason.startswith(f"unknown product {lost} on ") and reason.endswith("ingest the product or correct the document") for reason, _ in suspense)
    # Net of discounts: the suspense list and the suspense account hold the product's net sales, nothing is dropped.
    assert -sum(amount for _, amount in suspense) == lost_amount
    assert query(ledger, "select -sum(amount_minor) from main.fct_journal_lines where account_code = '9999' and currency = 'jpy'") == [(lost_amount,)]
    assert query(ledger, "select count(*) from main.fct_journal_lines where account_code = '4050'") == [(0,)]
    # The rule's account holds the product's sales net of discounts; refunds without a credit note take
    # them back pro rata of other parts now (no discount part), so each may move a rounding unit.
    [(rebuilt_net, pro_rata_refunds)] = query(ledger, f"""
        select -sum(amount_minor), count(distinct balance_transaction_id) filter (where split_basis = 'invoice_pro_rata')
        from main.int_balance_transaction_sales_split
        where currency = 'usd' and component_kind in ('revenue', 'discount') and product_id = '{ruled}'""")
    assert query(ledger, f"""
        select account_code, -sum(amount_minor) from main.fct_journal_line_sources
        where line_role = 'sale:revenue:{ruled}' and currency = 'usd' group by account_code""") == [("4010", rebuilt_net)]
    assert abs(rebuilt_net - ruled_net) <= pro_rata_refunds
    assert new_york_tax > 0 and query(ledger, """
        select account_code, -sum(amount_minor) from main.int_balance_transaction_sales_split where jurisdiction = 'US-NY' group by all""") == [
        ("2000", new_york_tax)]
    assert query(ledger, f"select distinct account_code from main.int_balance_transaction_sales_split where tax_rate_id = '{texas_rate}'") == [("2010",)]
    assert query(ledger, f"""
        select distinct account_code from main.int_balance_transaction_sales_split
        where jurisdiction = 'US-TX' and tax_rate_id is distinct from '{texas_rate}'""") == [("2012",)]


def test_a_locked_period_keeps_its_split_and_a_new_product_account_posts_as_adjustments(built, tmp_path):
    """October is locked; then the accountant gives a product its own revenue account. October's
    lines stay as locked; November receives adjusting entries that move the product's revenue, and
    every proof still passes (adjustments count in the period they correct)."""
    _, path = built
    ledger = copy_ledger(path, tmp_path / "ledger")
    october = query(ledger, "select journal_line_id, account_code, amount_minor from main.fct_journal_lines order by 1")
    [(product, moved)] = query(ledger, """
        select product_id, sum(amount_minor) from main.int_balance_transaction_sales_split
        where component_kind = 'revenue' and product_id is not null and currency = 'eur'
        group by product_id order by product_id limit 1""")
    period_close.lock_period(ledger, "2026-10", actor="controller")
    project = project_copy(tmp_path / "dbt_project")
    with (project / "seeds" / "gl_revenue_accounts.csv").open("a") as handle:
        handle.write(f"product,{product},,4010,moved after the lock\n")
    results = statuses(build(ledger, project_dir=project))

    assert {name: results[name] for name in SPLIT_PROOFS} == {name: "pass" for name in SPLIT_PROOFS}
    assert query(ledger, "select journal_line_id, account_code, amount_minor from main.fct_journal_lines where period = '2026-10' order by 1") == october
    adjusted = dict(query(ledger, """
        select account_code, sum(amount_minor) from main.fct_journal_lines
        where is_adjustment and currency = 'eur' and period = '2026-11' group by account_code"""))
    assert adjusted == {"4000": -moved, "4010": moved}


def test_the_documents_proof_names_an_invoice_and_a_credit_note_ingested_in_part(built, tmp_path):
    """The proof's own SQL, as dbt compiled it, on a copy missing one invoice line and one credit note line."""
    _, path = built
    ledger = copy_ledger(path, tmp_path / "ledger")
    with warehouse.connect(ledger) as connection:
        [(invoice, line, amount)] = connection.execute(f"""
            select invoice_id, id, amount from {warehouse.landed_table('stripe_invoice_line_items')}
            where amount > 0 and id not in (
                select invoice_line_item_id from {warehouse.landed_table('stripe_credit_note_line_items')} where invoice_line_item_id is not null
            )
            order by id limit 1""").fetchall()
        [(note, note_line, note_amount)] = connection.execute(f"""
            select credit_note_id, id, amount from {warehouse.landed_table('stripe_credit_note_line_items')} where amount > 0 order by id limit 1""").fetchall()
        connection.execute(f"delete from {warehouse.landed_table('stripe_invoice_line_items')} where id = ?", [line])
        connection.execute(f"delete from {warehouse.landed_table('stripe_credit_note_line_items')} where id = ?", [note_line])
    rows = query(ledger, f"select document_kind, document_id, figure, difference_minor from ({compiled_test_sql(path, 'sales_documents_tie_to_totals')})")
    differing = {(kind, document, figure): difference for kind, document, figure, difference in rows}
    assert differing[("invoice", invoice, "subtotal")] == -amount
    assert differing[("credit_note", note, "subtotal")] == -note_amount
    assert {(kind, document) for kind, document, _ in differing} == {("invoice", invoice), ("credit_note", note)}


def test_a_credit_note_whose_invoice_never_landed_books_to_suspense_saying_what_is_missing(built, tmp_path):
    """Source objects switched on after a history without them: a refund's credit note lands, the
    invoice it credits never did. Its lines have no product; the suspense list says why (a null
    reason failed the build's not-null test) and the books still balance."""
    _, path = built
    ledger = copy_ledger(path, tmp_path / "ledger")
    with warehouse.connect(ledger) as connection:
        [(invoice, note)] = connection.execute(f"""
            select invoice_id, min(id) from {warehouse.landed_table('stripe_credit_notes')}
            where invoice_id is not null group by invoice_id order by invoice_id limit 1""").fetchall()
        credited_lines = ", ".join(line for (line,) in connection.execute(f"""
            select distinct invoice_line_item_id from {warehouse.landed_table('stripe_credit_note_line_items')} where credit_note_id = ?
            order by 1""", [note]).fetchall())
        connection.execute(f"delete from {warehouse.landed_table('stripe_invoices')} where id = ?", [invoice])
        for table in ("stripe_invoice_line_items", "stripe_invoice_line_item_discounts", "stripe_invoice_line_item_taxes", "stripe_invoice_payments"):
            connection.execute(f"delete from {warehouse.landed_table(table)} where invoice_id = ?", [invoice])
    results = statuses(build(ledger))

    assert {name: status for name, status in results.items() if status not in ("pass", "warn", "success")} == {}
    assert results["assert_no_suspense_postings"] == "warn"
    reasons = query(ledger, "select distinct reason from main.rpt_suspense_postings where reason like '%' || ? || '%'", [note])
    assert reasons == [(f"no product on {note}: the invoice lines it credits are not loaded ({credited_lines}); "
                        "ingest the invoice or correct the document",)]
