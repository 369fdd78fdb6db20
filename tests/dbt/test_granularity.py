"""The same books at payout granularity: one entry per payout, the same balances as daily."""

import pytest

from tests.dbt.builders import build, copy_ledger, query, small_world_ledger

TRIAL_BALANCE = "select currency, account_code, balance_minor from main.rpt_trial_balance where balance_minor <> 0 order by all"


@pytest.fixture(scope="module")
def per_payout(tmp_path_factory):
    daily = small_world_ledger()
    path = copy_ledger(daily, tmp_path_factory.mktemp("per-payout"))
    build(path, granularity="payout")
    return daily, path


def test_each_payout_is_one_entry_holding_exactly_its_transactions(per_payout):
    _, path = per_payout
    mismatched = query(path, """
        with links as (select * from main.stg_stripe__payout_transactions),
        booked as (
            select distinct source_id, journal_entry_id from main.fct_journal_line_sources
            where source_kind = 'balance_transaction'
        )
        select links.payout_id, booked.journal_entry_id
        from links join main.stg_stripe__payouts as payouts using (payout_id)
        join booked on booked.source_id = links.balance_transaction_id
        where booked.journal_entry_id <> 'STRIPE-main-' || links.payout_id || '-' || upper(payouts.currency)""")
    assert mismatched == []
    entries = query(path, "select count(distinct journal_entry_id) from main.fct_journal_lines where journal_entry_id like 'STRIPE-main-po\\_%' escape '\\' and journal_entry_id not like '%-ARRIVAL' and journal_entry_id not like '%-RETURN'")
    payouts = query(path, "select count(distinct payout_id) from main.stg_stripe__payout_transactions")
    assert entries == payouts and payouts[0][0] > 20


def test_the_balances_do_not_depend_on_the_granularity(per_payout):
    daily, path = per_payout
    assert query(path, TRIAL_BALANCE) == query(daily, TRIAL_BALANCE)
    assert query(path, "select count(*) from main.fct_journal_lines where journal_entry_id like 'STRIPE-main-2026%'")[0][0] > 0
