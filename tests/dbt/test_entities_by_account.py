"""Two Stripe accounts of a Connect platform (tests/dbt/two_entities.py), built by dbt into
journals and Stripe balance roll-forwards per entity and account."""

import duckdb
import pytest

from ledger.checks.suites import suite_named
from ledger.checks.validate import run_suites
from ledger.dbt_build import culprit_rows
from sandbox.merchant import OWN_ACCOUNT_ID
from tests.dbt.builders import compiled_test_sql, copy_ledger, query
from tests.dbt.two_entities import EUROPE, at, two_entity_ledger


@pytest.fixture(scope="module")
def two_entities():
    built = two_entity_ledger()
    return built.warehouse, built.project, built.stats


@pytest.fixture(scope="module")
def europe_world():
    return two_entity_ledger().worlds["europe"]


def test_each_account_lands_its_own_rows_with_its_own_cursors(two_entities, small_world, europe_world):
    path, _, stats = two_entities
    assert stats.balance_transactions == small_world.balance_transactions.num_rows + europe_world.balance_transactions.num_rows
    landed = dict(query(path, "select stripe_account_id, count(*) from raw.stripe_balance_transactions group by all"))
    assert landed == {OWN_ACCOUNT_ID: small_world.balance_transactions.num_rows, EUROPE: europe_world.balance_transactions.num_rows}
    europe_ids = set(europe_world.balance_transactions.column("id").to_pylist())
    assert {row[0] for row in query(path, "select id from raw.stripe_balance_transactions where stripe_account_id = ?", [EUROPE])} == europe_ids
    payouts = dict(query(path, "select stripe_account_id, count(*) from raw.stripe_payouts group by all"))
    assert payouts == {OWN_ACCOUNT_ID: small_world.payouts.num_rows, EUROPE: europe_world.payouts.num_rows}
    assert set(stats.balance_snapshots) == {OWN_ACCOUNT_ID, EUROPE}
    assert {account for (account,) in query(path, "select distinct stripe_account_id from raw.stripe_balance_snapshots")} == {OWN_ACCOUNT_ID, EUROPE}
    cursors = dict(query(path, "select stream, position from ingest_state.cursors"))
    as_of = at(small_world.as_of).replace(tzinfo=None)
    assert cursors == {f"{stream}@{account}": as_of for stream in ("balance_transactions", "payouts") for account in (OWN_ACCOUNT_ID, EUROPE)}


def test_journals_per_entity_carry_its_subsidiary_and_company_code_and_balance(two_entities, small_world, europe_world):
    path, _, _ = two_entities
    booked = query(path, """
        select lines.entity_id, entities.netsuite_subsidiary::varchar, entities.sap_company_code::varchar,
               count(distinct lines.journal_entry_id), sum(lines.amount_minor)
        from main.fct_journal_lines as lines
        join accounting.entities as entities using (entity_id)
        group by all order by all""")
    assert [row[:3] for row in booked] == [("europe", "7", "2000"), ("main", "1", "1000")]
    assert all(entries > 0 and total == 0 for *_, entries, total in booked)
    unbalanced = query(path, """
        select entity_id, journal_entry_id from main.fct_journal_lines group by all having sum(amount_minor) <> 0""")
    assert unbalanced == []
    assert query(path, "select count(*) from main.fct_journal_lines where journal_entry_id like 'STRIPE-europe-%' and entity_id <> 'europe'") == [(0,)]
    # Each entity's Stripe clearing holds exactly its own account's money.
    clearing = dict(query(path, """
        select entity_id || ':' || currency, sum(amount_minor) from main.fct_journal_lines
        where account_code = '1010' group by all"""))
    for entity, world in (("main", small_world), ("europe", europe_world)):
        for currency in world.spec.currencies:
            expected = sum(row["net"] for row in world.balance_transactions.to_pylist() if row["currency"] == currency)
            assert clearing[f"{entity}:{currency}"] == expected, (entity, currency)


def test_mapping_rules_apply_to_their_entity_only(two_entities, small_world, europe_world):
    path, _, _ = two_entities
    charges = query(path, """
        select lines.entity_id, lines.account_code, sum(lines.amount_minor)
        from main.fct_journal_lines as lines where lines.account_code in ('4000', '4090') group by all order by all""")
    accounts = {(entity, account) for entity, account, _ in charges}
    assert ("europe", "4090") in accounts and ("main", "4000") in accounts
    assert ("main", "4090") not in accounts


def test_an_account_missing_from_the_entities_seed_is_named(two_entities, tmp_path):
    path, _, _ = two_entities
    damaged = copy_ledger(path, tmp_path)
    with duckdb.connect(str(damaged)) as connection:
        connection.execute(f"update raw.stripe_balance_transactions_landed set stripe_account_id = 'acct_1Unknown' where stripe_account_id = '{EUROPE}'")
    culprits = culprit_rows(damaged, compiled_test_sql(path, "assert_every_stripe_account_has_an_entity"))
    assert [(row["stripe_account_id"], row["found_in"]) for row in culprits] == [("acct_1Unknown", "balance_transactions")]
    assert culprits[0]["records"] > 0


def test_the_rollforward_rolls_each_account_forward_to_its_own_snapshot(two_entities, small_world, europe_world):
    path, _, _ = two_entities
    rows = query(path, """
        select stripe_account_id, entity_id, currency, period, category, description, net_amount_minor, net_amount
        from main.rpt_stripe_balance_rollforward order by all""")
    assert {(account, entity) for account, entity, *_ in rows} == {(OWN_ACCOUNT_ID, "main"), (EUROPE, "europe")}
    # Each account's activity is its own world's non-payout net, to the minor unit.
    activity = {}
    for account, _, currency, _, category, _, amount, _ in rows:
        if category == "activity":
            activity[account, currency] = activity.get((account, currency), 0) + amount
    for account, world in ((OWN_ACCOUNT_ID, small_world), (EUROPE, europe_world)):
        for currency in world.spec.currencies:
            expected = sum(row["net"] for row in world.balance_transactions.to_pylist()
                           if row["currency"] == currency and row["reporting_category"] not in ("payout", "payout_reversal"))
            assert activity[account, currency] == expected, (account, currency)
    # The last month's ending balance of each account and currency is that account's balance snapshot.
    ending = {(account, currency): amount for account, _, currency, period, category, _, amount, _ in rows if category == "ending_balance"}
    snapshots = dict(((account, currency), balance) for account, currency, balance in query(path, """
        select stripe_account_id, currency, balance_minor from main.stg_stripe__balance_snapshots
        qualify row_number() over (partition by stripe_account_id, currency order by as_of_at desc) = 1"""))
    assert set(snapshots) == set(ending) and {account for account, _ in snapshots} == {OWN_ACCOUNT_ID, EUROPE}
    assert ending == snapshots
    # The columns of Stripe's balance.summary.1, as its CSV prints them.
    europe_usd = [row[4:] for row in rows if row[0] == EUROPE and row[2] == "usd" and row[3] == "2026-10"]
    assert [category for category, *_ in europe_usd] == ["activity", "ending_balance", "payouts", "starting_balance"]
    assert all(text == f"{minor / 100:.2f}" for _, _, minor, text in europe_usd)
    assert proof_culprits(path) == [] and run_suites(path, (suite_named("stripe_balance_rolls_forward"),))[0].success


def proof_culprits(path) -> list[dict]:
    return list(culprit_rows(path, compiled_test_sql(two_entity_ledger().warehouse, "assert_stripe_balance_rolls_forward")))


def test_a_damaged_account_is_named_by_the_proof_and_the_gx_suite(two_entities, tmp_path):
    path, _, _ = two_entities
    damaged = copy_ledger(path, tmp_path)
    with duckdb.connect(str(damaged)) as connection:
        connection.execute(f"""
            update main.rpt_stripe_balance_rollforward set net_amount_minor = net_amount_minor + 1
            where stripe_account_id = '{EUROPE}' and currency = 'usd' and period = '2026-10' and category = 'activity'""")
    [culprit] = proof_culprits(damaged)
    assert (culprit["stripe_account_id"], culprit["currency"], culprit["period"], culprit["difference_minor"]) == (EUROPE, "usd", "2026-10", 1)
    [result] = run_suites(damaged, (suite_named("stripe_balance_rolls_forward"),))
    assert not result.success
    assert [(c["stripe_account_id"], c["currency"], c["period"]) for c in result.culprits] == [(EUROPE, "usd", "2026-10")]
