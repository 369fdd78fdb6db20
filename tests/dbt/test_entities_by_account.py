"""Two Stripe accounts of a Connect platform, ingested over the real SDK through the sandbox (the
second with the `Stripe-Account` header), built by dbt into journals per entity."""

from datetime import datetime, timezone

import duckdb
import pytest

from ledger import warehouse
from ledger.dbt_build import culprit_rows
from ledger.sources.stripe_api import StripeApiSettings, Window, ingest, plan_window
from sandbox.merchant import OWN_ACCOUNT_ID, WorldSpec, simulate
from sandbox.stripe_api import SandboxStripeServer
from tests.conftest import API_KEY, SMALL_WORLD
from tests.dbt.builders import build, compiled_test_sql, copy_ledger, project_copy, query

EUROPE = "acct_1EuropeGmbH"
# A smaller second merchant over the same days, in two currencies.
EUROPE_WORLD = WorldSpec(seed=29, start=SMALL_WORLD.start, days=SMALL_WORLD.days, transactions_per_day=8, currencies=("usd", "eur"))


def at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


@pytest.fixture(scope="module")
def europe_world():
    return simulate(EUROPE_WORLD)


@pytest.fixture(scope="module")
def two_entities(small_world, europe_world, tmp_path_factory):
    """Both accounts ingested and built with a project whose seeds name the second entity and give
    it its own revenue account for charges."""
    workdir = tmp_path_factory.mktemp("two-entities")
    project = project_copy(workdir / "dbt_project")
    with (project / "seeds" / "entities.csv").open("a") as entities:
        entities.write(f"europe,{EUROPE},ACME Robotics GmbH,7,2000,usd\n")
    with (project / "seeds" / "gl_accounts.csv").open("a") as accounts:
        accounts.write("4010,Revenue Europe,income,4010 Revenue Europe,0000401000\n")
    with (project / "seeds" / "gl_mapping_rules.csv").open("a") as rules:
        rules.write("reporting_category,charge,,europe,4010,,Charges of the European entity\n")
    path = workdir / "warehouse.duckdb"
    with SandboxStripeServer(small_world, API_KEY, connected={EUROPE: europe_world}) as server, warehouse.connect(path) as connection:
        settings = StripeApiSettings(api_key=API_KEY, api_base=server.url, accounts=(OWN_ACCOUNT_ID, EUROPE))
        window = plan_window(connection, settings, at(small_world.spec.start_ts), None, at(small_world.as_of), first_run_days=2)
        stats = ingest(settings, connection, window)
    build(path, project_dir=project)
    return path, project, stats


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
        from main.fct_journal_lines as lines where lines.account_code in ('4000', '4010') group by all order by all""")
    accounts = {(entity, account) for entity, account, _ in charges}
    assert ("europe", "4010") in accounts and ("main", "4000") in accounts
    assert ("main", "4010") not in accounts


def test_an_account_missing_from_the_entities_seed_is_named(two_entities, tmp_path):
    path, _, _ = two_entities
    damaged = copy_ledger(path, tmp_path)
    with duckdb.connect(str(damaged)) as connection:
        connection.execute(f"update raw.stripe_balance_transactions_landed set stripe_account_id = 'acct_1Unknown' where stripe_account_id = '{EUROPE}'")
    culprits = culprit_rows(damaged, compiled_test_sql(path, "assert_every_stripe_account_has_an_entity"))
    assert [(row["stripe_account_id"], row["found_in"]) for row in culprits] == [("acct_1Unknown", "balance_transactions")]
    assert culprits[0]["records"] > 0
