"""Shapes of Stripe's sales documents the simulator does not make, on one copy of the shared
four-currency ledger edited in its raw tables and built once more (real dbt, real DuckDB):

- a credit note with a custom line (Stripe's `custom_line_item`: its own amount, no invoice line)
  part refunded through Stripe, the rest `out_of_band_amount`;
- a credit note of one custom line, refunded whole;
- refunds whose metadata names a Stripe Tax reversal the ledger cannot book them by: an id Stripe
  does not know, another charge's reversal, the charge's own sale transaction.

Each books by a stated rule, ties in the per-document proofs, and what needs a person is said: the
suspense list names the custom line, the warning check names the refund and the tax transaction.
"""

import json
from collections import defaultdict

import pytest

from ledger import warehouse
from ledger.sources.source_tables import TAX_TRANSACTION_KEY
from tests.dbt.builders import build, compiled_test_sql, copy_ledger, four_currency_sales_ledger, query, statuses
from tests.dbt.test_sales_split import SPLIT_PROOFS, sale_lines, stripe_tax_refunds, tax_of, truncated

REVERSALS_CHECK = "assert_refund_tax_reversals_resolve"
CUSTOM_AMOUNT = 500


@pytest.fixture(scope="module")
def edited(tmp_path_factory):
    """The edited copy, built: (world, path, the run's statuses, what was edited)."""
    world, path = four_currency_sales_ledger()
    ledger = copy_ledger(path, tmp_path_factory.mktemp("edge-shapes"))
    raw = warehouse.landed_table
    with warehouse.connect(ledger) as connection:
        # Two credit notes of one invoice line each, refunded whole through Stripe.
        [out_of_band, custom_only] = [note for (note,) in connection.execute(f"""
            select notes.id from {raw('stripe_credit_notes')} as notes
            join {raw('stripe_credit_note_line_items')} as lines on lines.credit_note_id = notes.id
            where notes.refund_amount = notes.total and notes.currency = 'usd'
            group by notes.id having count(*) = 1 order by notes.id limit 2""").fetchall()]
        connection.execute(f"""
            insert into {raw('stripe_credit_note_line_items')}
            select 'cnli_custom_goodwill', credit_note_id, 1, 'custom_line_item', null, ?, 1, ?, 0, 0, null, stripe_account_id, _source, _loaded_at
            from {raw('stripe_credit_note_line_items')} where credit_note_id = ?""", [CUSTOM_AMOUNT, CUSTOM_AMOUNT, out_of_band])
        connection.execute(f"""
            update {raw('stripe_credit_notes')} set subtotal = subtotal + ?, total = total + ?, out_of_band_amount = ?
            where id = ?""", [CUSTOM_AMOUNT, CUSTOM_AMOUNT, CUSTOM_AMOUNT, out_of_band])
        [custom_line] = connection.execute(f"""
            update {raw('stripe_credit_note_line_items')} set type = 'custom_line_item', invoice_line_item_id = null
            where credit_note_id = ? returning id""", [custom_only]).fetchall()
        # A second credit note names the refund of a third (a copy of its lines under new ids).
        [(doubled, doubled_refund)] = connection.execute(f"""
            select id, refund_id from {raw('stripe_credit_notes')}
            where refund_amount = total and id not in (?, ?) order by id limit 1""", [out_of_band, custom_only]).fetchall()
        connection.execute(f"insert into {raw('stripe_credit_notes')} select * replace ('cn_second_note' as id) from {raw('stripe_credit_notes')} where id = ?",
                           [doubled])
        connection.execute(f"""insert into {raw('stripe_credit_note_line_items')} select * replace ('cn2' || id as id, 'cn_second_note' as credit_note_id)
                               from {raw('stripe_credit_note_line_items')} where credit_note_id = ?""", [doubled])
        connection.execute(f"""insert into {raw('stripe_credit_note_line_item_taxes')}
                               select * replace ('cn2' || line_item_id as line_item_id, 'cn_second_note' as credit_note_id)
                               from {raw('stripe_credit_note_line_item_taxes')} where credit_note_id = ?""", [doubled])
        # Three refunds with a reversal of their charge's tax name something else.
        recorded = [refund for refund in stripe_tax_refunds(world) if refund[3] is not None]
        unknown = recorded[0]
        foreign = next(refund for refund in recorded if refund[1]["id"] != unknown[1]["id"])
        sale = next(refund for refund in reversed(recorded) if refund not in (unknown, foreign))
        misnamed = {unknown[0]["id"]: "tax_never_created", foreign[0]["id"]: unknown[3]["id"], sale[0]["id"]: sale[2]["id"]}
        for refund, tax_transaction in misnamed.items():
            connection.execute(f"update {raw('stripe_refunds')} set metadata = ? where id = ?",
                               [json.dumps({TAX_TRANSACTION_KEY: tax_transaction}), refund])
    results = statuses(build(ledger))
    return world, ledger, results, {
        "out_of_band": out_of_band, "custom_only": custom_only, "custom_line": custom_line[0], "misnamed": misnamed,
        "doubled": (doubled, doubled_refund),
        "refunds": {refund["id"]: (refund, charge, original) for refund, charge, original, _ in (unknown, foreign, sale)},
        "foreign_original": unknown[2]["id"], "foreign_own": foreign[2]["id"],
    }


def credit_note_parts(path, note: str) -> list[tuple[str, int]]:
    """A credit note's parts from its staging rows, in the split's order (revenue lines by position,
    then taxes): (line role, amount); a line naming no product has no product in its role."""
    return query(path, """
        select role, amount from (
            select coalesce('sale:revenue:' || invoice_lines.product_id, 'sale:revenue') as role,
                   notes.amount_minor as amount, 0 as kind, notes.position, 0 as tax
            from main.stg_stripe__credit_note_line_items as notes
            left join main.stg_stripe__invoice_line_items as invoice_lines using (invoice_line_item_id)
            where notes.credit_note_id = ?1
            union all
            select 'sale:tax:' || taxes.tax_rate_id, taxes.amount_minor, 2, lines.position, taxes.position
            from main.stg_stripe__credit_note_line_item_taxes as taxes
            join main.stg_stripe__credit_note_line_items as lines using (credit_note_line_item_id)
            where taxes.credit_note_id = ?1 and taxes.amount_minor <> 0
        ) order by kind, position, tax""", [note])


def refund_transaction(path, note: str) -> tuple[str, int]:
    [(transaction, amount)] = query(path, """
        select transactions.balance_transaction_id, transactions.amount_minor
        from main.stg_stripe__credit_notes as notes
        join main.stg_stripe__refunds as refunds using (refund_id)
        join main.stg_stripe__balance_transactions as transactions on transactions.balance_transaction_id = refunds.balance_transaction_id
        where notes.credit_note_id = ?""", [note])
    return transaction, amount


def test_the_edited_documents_still_tie_and_balance(edited):
    _, _, results, _ = edited
    assert {name: results[name] for name in (*SPLIT_PROOFS, "booked_once", "journal_balances")} == {
        name: "pass" for name in (*SPLIT_PROOFS, "booked_once", "journal_balances")}
    assert results["assert_no_suspense_postings"] == "warn"


def test_a_credit_note_refunded_in_part_with_the_rest_out_of_band_books_its_parts_pro_rata(edited):
    """Refund 3,358 of a credit note of 3,858 (a product line, a custom line of 5.00, tax), 5.00 paid
    out of band: each part takes refund x part / total truncated, the first revenue line the rest."""
    _, path, _, shapes = edited
    transaction, amount = refund_transaction(path, shapes["out_of_band"])
    parts = credit_note_parts(path, shapes["out_of_band"])
    total = sum(part for _, part in parts)
    [(out_of_band, note_total)] = query(path, "select out_of_band_amount_minor, total_minor from main.stg_stripe__credit_notes where credit_note_id = ?",
                                        [shapes["out_of_band"]])
    assert (out_of_band, note_total) == (CUSTOM_AMOUNT, total) and -amount == total - CUSTOM_AMOUNT
    shares = [truncated(-amount * part, total) for _, part in parts]
    shares[0] += -amount - sum(shares)
    expected: dict[str, int] = defaultdict(int)
    for (role, _), share in zip(parts, shares):
        expected[role] += share
    assert sale_lines(path, transaction) == dict(expected)
    assert expected["sale:revenue"] > 0 and sum(expected.values()) == -amount
    assert query(path, "select distinct split_basis from main.int_balance_transaction_sales_split where balance_transaction_id = ?",
                 [transaction]) == [("credit_note",)]


def test_a_custom_credit_note_line_books_to_suspense_saying_it_is_a_custom_line(edited):
    """A custom line credits no product: its share goes to 9999, and the suspense list says which line
    of which credit note, not that an invoice is missing (it is not)."""
    _, path, _, shapes = edited
    reasons = {}
    for note in (shapes["out_of_band"], shapes["custom_only"]):
        transaction, _ = refund_transaction(path, note)
        [(reason, amount)] = query(path, "select reason, suspense_amount_minor from main.rpt_suspense_postings where balance_transaction_id = ?",
                                   [transaction])
        assert amount == sale_lines(path, transaction)["sale:revenue"]
        assert query(path, "select account_code, sum(amount_minor) from main.fct_journal_line_sources where source_id = ? and line_role = 'sale:revenue' group by 1",
                     [transaction]) == [("9999", amount)]
        reasons[note] = reason
    line = "cnli_custom_goodwill"
    assert reasons == {
        shapes["out_of_band"]: f"custom line {line} on {shapes['out_of_band']}: a credit note line of type custom_line_item credits no product; "
                               "reclassify it from suspense to the account it reverses",
        shapes["custom_only"]: f"custom line {shapes['custom_line']} on {shapes['custom_only']}: a credit note line of type custom_line_item "
                               "credits no product; reclassify it from suspense to the account it reverses",
    }
    # Refunded whole, the custom-only note books its line and its tax exactly.
    transaction, amount = refund_transaction(path, shapes["custom_only"])
    parts = credit_note_parts(path, shapes["custom_only"])
    assert sale_lines(path, transaction) == dict(parts) and sum(part for _, part in parts) == -amount


def test_a_refund_naming_a_reversal_the_ledger_cannot_use_books_pro_rata_and_the_warning_names_it(edited):
    """An id Stripe does not know, another charge's reversal, the charge's own sale: each refund takes
    its charge's tax back pro rata (truncated, the rest on revenue), and the warning check says why."""
    _, path, results, shapes = edited
    assert results[REVERSALS_CHECK] == "warn"
    for refund, charge, original in shapes["refunds"].values():
        place, tax = tax_of(original)
        share = truncated(-refund["amount"] * tax, charge["amount_captured"])
        category = charge["metadata"]["revenue_category"]
        assert sale_lines(path, refund["balance_transaction"]) == {f"sale:revenue:{category}": refund["amount"] + share, f"sale:tax:{place}": -share}
        assert query(path, "select distinct split_basis from main.int_balance_transaction_sales_split where refund_id = ?",
                     [refund["id"]]) == [("charge_pro_rata",)]
    rows = query(path, f"select refund_id, tax_transaction_id, reason from ({compiled_test_sql(path, REVERSALS_CHECK)})")
    misnamed = shapes["misnamed"]
    unknown, foreign, sale = list(misnamed)
    foreign_charge = shapes["refunds"][foreign][1]
    suffix = "the refund is booked pro rata of its charge's sale instead"
    assert {refund: (named, reason) for refund, named, reason in rows} == {
        unknown: ("tax_never_created", f"refund {unknown} names Stripe Tax transaction tax_never_created, which is not landed "
                                       f"(Stripe does not know it, or ingestion has not read it): {suffix}"),
        foreign: (misnamed[foreign], f"refund {foreign} names Stripe Tax transaction {misnamed[foreign]}, a reversal of "
                                     f"{shapes['foreign_original']}, not of its charge {foreign_charge['id']}'s {shapes['foreign_own']}: {suffix}"),
        sale: (misnamed[sale], f"refund {sale} names Stripe Tax transaction {misnamed[sale]}, which is a transaction, not a reversal: {suffix}"),
    }


def test_a_refund_two_credit_notes_name_books_by_the_first_and_the_warning_names_both(edited):
    """Stripe lets several credit notes link one refund; the ledger books it by one note: the first,
    exactly here (the refund is its total), and the warning lists the refund, both notes and the sum."""
    _, path, results, shapes = edited
    note, refund = shapes["doubled"]
    assert results["assert_refund_credit_notes_resolve"] == "warn"
    transaction, amount = refund_transaction(path, note)
    booked: dict[str, int] = defaultdict(int)
    for role, part in credit_note_parts(path, note):
        booked[role] += part
    assert sale_lines(path, transaction) == dict(booked) and sum(booked.values()) == -amount
    rows = query(path, f"select refund_id, reason from ({compiled_test_sql(path, 'assert_refund_credit_notes_resolve')})")
    assert rows == [(refund, f"refund {refund} of {-amount} minor units is named by 2 credit notes ({note}, cn_second_note) refunding "
                             f"{-2 * amount} in all: booked by {note} alone, pro rata of its parts")]
