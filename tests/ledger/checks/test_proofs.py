"""Each proof fails on books made wrong on purpose, and names the culprit.

The small world is built once; each case damages a private copy, then runs the SQL dbt compiled
for the proof (what `dbt build` runs) and the matching GX suite, and checks the records named.
Raw tables are views all the way up to the marts, so damage to raw data shows in staging-based
proofs; damage to a mart table shows in the proofs over that mart.
"""

import duckdb

from ledger.checks.suites import suite_named
from ledger.checks.validate import run_suites
from ledger.dbt_build import culprit_rows
from tests.dbt.builders import compiled_test_sql, copy_ledger, small_world_ledger


def damaged(tmp_path, *statements: str):
    path = copy_ledger(small_world_ledger(), tmp_path)
    with duckdb.connect(str(path)) as connection:
        for statement in statements:
            connection.execute(statement)
    return path


def proof(path, name):
    return culprit_rows(path, compiled_test_sql(small_world_ledger(), name), limit=50)


def gx(path, name):
    [result] = run_suites(path, (suite_named(name),))
    return result


def a_payout_and_one_of_its_transactions(path):
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute("""
            select links.payout_id, links.balance_transaction_id, transactions.net, transactions.currency
            from raw.stripe_payout_transactions as links
            join raw.stripe_balance_transactions as transactions on transactions.id = links.balance_transaction_id
            where transactions.type = 'charge' order by links.balance_transaction_id limit 1""").fetchone()


def test_every_proof_passes_on_the_undamaged_ledger(tmp_path):
    path = copy_ledger(small_world_ledger(), tmp_path)
    for name in ("booked_once", "journal_balances",
                 "trial_balance_ties", "assert_stripe_balance_rolls_forward",
                 "payouts_equal_their_transactions", "clearing_equals_stripe_balance",
                 "lines_tie_to_sources"):
        assert proof(path, name) == (), name
    assert all(result.success for result in run_suites(path))


def test_dropping_a_transaction_from_a_payout_names_the_payout(tmp_path):
    payout_id, transaction_id, net, _ = a_payout_and_one_of_its_transactions(small_world_ledger())
    path = damaged(tmp_path, f"delete from raw.stripe_payout_transactions_landed where balance_transaction_id = '{transaction_id}'")
    [culprit] = proof(path, "payouts_equal_their_transactions")
    assert (culprit["payout_id"], culprit["difference_minor"]) == (payout_id, -net)
    result = gx(path, "automatic_payouts_tie_out")
    assert not result.success
    assert [(c["payout_id"], c["items_net_minor"] - c["payout_minor"]) for c in result.culprits] == [(payout_id, -net)]


def test_a_transaction_in_two_payouts_names_both_and_the_transaction(tmp_path):
    payout_id, transaction_id, _, currency = a_payout_and_one_of_its_transactions(small_world_ledger())
    path = damaged(tmp_path, f"""
        insert into raw.stripe_payout_transactions_landed by name
        select links.payout_id, '{transaction_id}' as balance_transaction_id, 'test' as _source, now()::timestamp as _loaded_at
        from raw.stripe_payout_transactions as links join raw.stripe_payouts as payouts on payouts.id = links.payout_id
        where links.payout_id <> '{payout_id}' and payouts.currency = '{currency}' and payouts.reconciliation_status = 'completed'
        limit 1""")
    culprits = proof(path, "payouts_equal_their_transactions")
    assert len(culprits) == 2 and payout_id in {c["payout_id"] for c in culprits}
    assert {c["claimed_twice"] for c in culprits} == {transaction_id}


def test_a_doubled_booking_names_the_transaction(tmp_path):
    _, transaction_id, _, currency = a_payout_and_one_of_its_transactions(small_world_ledger())
    path = damaged(tmp_path, f"insert into main.fct_journal_source_records select * from main.fct_journal_source_records where source_id = '{transaction_id}'")
    [culprit] = [c for c in proof(path, "booked_once") if c["culprit"] == transaction_id]
    assert culprit["problem"] == "booked twice"
    ties = proof(path, "lines_tie_to_sources")
    assert ties and all(row["journal_line_id"].startswith("STRIPE-main-") for row in ties)
    result = gx(path, "balance_transactions_booked_once")
    assert not result.success and [c["currency"] for c in result.culprits] == [currency]


def test_a_changed_amount_names_the_currency_and_the_payout(tmp_path):
    payout_id, transaction_id, _, currency = a_payout_and_one_of_its_transactions(small_world_ledger())
    path = damaged(tmp_path, f"update raw.stripe_balance_transactions_landed set amount = amount + 100, net = net + 100 where id = '{transaction_id}'")
    [snapshot] = proof(path, "assert_stripe_balance_rolls_forward")
    assert (snapshot["currency"], snapshot["computed_minor"] - snapshot["reported_minor"]) == (currency, 100)
    [payout] = proof(path, "payouts_equal_their_transactions")
    assert (payout["payout_id"], payout["difference_minor"]) == (payout_id, 100)
    assert [c["currency"] for c in gx(path, "stripe_balance_equals_snapshot").culprits] == [currency]


def test_an_unbalanced_journal_line_names_the_entry_and_the_account(tmp_path):
    path = damaged(tmp_path, """
        update main.fct_journal_lines set amount_minor = amount_minor + 1
        where journal_line_id = (select min(journal_line_id) from main.fct_journal_lines where account_code = '1010')""")
    [line_id] = duckdb.connect(str(path), read_only=True).execute(
        "select min(journal_line_id) from main.fct_journal_lines where account_code = '1010'").fetchone()
    entry_id = line_id.removesuffix("-1010")
    assert [row["journal_entry_id"] for row in proof(path, "journal_balances")] == [entry_id]
    assert [row["journal_line_id"] for row in proof(path, "lines_tie_to_sources")] == [line_id]
    [clearing] = proof(path, "clearing_equals_stripe_balance")
    assert (clearing["account_code"], clearing["ledger_minor"] - clearing["stripe_minor"]) == ("1010", 1)
    assert gx(path, "journal_entries_balance").culprits[0]["journal_entry_id"] == entry_id
    assert not gx(path, "stripe_clearing_equals_stripe_balance").success


def test_an_unbalanced_trial_balance_names_the_currency(tmp_path):
    path = damaged(tmp_path, "update main.rpt_trial_balance set balance_minor = balance_minor - 7 where account_code = '4000' and currency = 'jpy'")
    assert [(r["currency"], r["imbalance_minor"]) for r in proof(path, "trial_balance_ties")] == [("jpy", -7)]
    assert [(c["currency"], c["imbalance_minor"]) for c in gx(path, "trial_balance_sums_to_zero").culprits] == [("jpy", -7)]
