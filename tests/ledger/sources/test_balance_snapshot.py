"""Stripe's balance is the balance now: a run records it only when its window reaches that moment.

The sandbox server's clock is Stripe's present (its responses' `Date` header); windows that end
before it are backfills of past days.
"""

from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from ledger import warehouse
from ledger.dbt_build import culprit_rows
from ledger.sources.stripe_api import StripeApiSettings, Window, ingest
from sandbox import stripe_objects
from sandbox.stripe_api import OWN_ACCOUNT_ID, SandboxStripeServer
from tests.conftest import API_KEY
from tests.dbt.builders import build, compiled_test_sql, copy_ledger

DAY = 86_400


def at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


def naive(timestamp: int) -> datetime:
    return at(timestamp).replace(tzinfo=None)


def snapshot_rows(connection) -> list[tuple]:
    return connection.execute(
        "select as_of, currency, available_minor + pending_minor from raw.stripe_balance_snapshots order by as_of, currency"
    ).fetchall()


def sandbox_balance(world, clock: int) -> list[tuple]:
    balance = stripe_objects.balance(world, clock)
    totals = {entry["currency"]: entry["amount"] for entry in balance["available"]}
    for entry in balance["pending"]:
        totals[entry["currency"]] += entry["amount"]
    return [(naive(clock), currency, amount) for currency, amount in sorted(totals.items())]


@pytest.fixture
def settings(stripe_server) -> StripeApiSettings:
    return StripeApiSettings(api_key=API_KEY, api_base=stripe_server.url, overlap_seconds=600)


def test_a_backfill_of_past_days_records_no_snapshot(small_world, stripe_server, settings, tmp_path):
    past = Window(at(small_world.spec.start_ts), at(small_world.spec.start_ts + 4 * DAY))
    with warehouse.connect(tmp_path / "warehouse.duckdb") as connection:
        stats = ingest(settings, connection, past)
        assert stats.balance_snapshots == {}
        assert stats.as_metadata()["balance_snapshots"] == {}
        assert snapshot_rows(connection) == []
        assert stats.balance_transactions == connection.execute("select count(*) from raw.stripe_balance_transactions").fetchone()[0] > 0
        assert warehouse.read_cursor(connection, "balance_transactions") == past.end.replace(tzinfo=None)


def test_a_run_up_to_now_records_the_balance_at_the_time_stripe_answered(small_world, stripe_server, settings, tmp_path):
    # A partition for "today" ends at tomorrow's midnight; Stripe's present is earlier.
    clock = small_world.spec.start_ts + 6 * DAY + 3_600
    stripe_server.set_clock(clock)
    today = Window(at(small_world.spec.start_ts), at(small_world.spec.start_ts + 7 * DAY))
    with warehouse.connect(tmp_path / "warehouse.duckdb") as connection:
        stats = ingest(settings, connection, today)
        assert stats.balance_snapshots == {OWN_ACCOUNT_ID: naive(clock)}
        assert snapshot_rows(connection) == sandbox_balance(small_world, clock)
        assert warehouse.read_cursor(connection, "balance_transactions") == naive(clock)


def test_a_window_ending_within_the_overlap_of_now_is_stretched_to_the_read(small_world, stripe_server, settings, tmp_path):
    created = small_world.balance_transactions.column("created").to_pylist()
    # The run shortly after the end of its window, with a charge created in between.
    charge_at = sorted(created)[len(created) // 2]
    clock, end = charge_at + 60, charge_at - 240
    stripe_server.set_clock(clock)
    window = Window(at(small_world.spec.start_ts), at(end))
    with warehouse.connect(tmp_path / "warehouse.duckdb") as connection:
        stats = ingest(settings, connection, window)
        assert stats.balance_snapshots == {OWN_ACCOUNT_ID: naive(clock)}
        assert stats.balance_transactions == sum(1 for c in created if c < clock)
        assert sum(1 for c in created if end <= c < clock) > 0
        assert snapshot_rows(connection) == sandbox_balance(small_world, clock)
        assert warehouse.read_cursor(connection, "balance_transactions") == naive(clock)


def test_the_balance_proofs_hold_after_a_backfill_and_name_a_snapshot_that_disagrees(small_world, tmp_path):
    """A backfill of the first days while Stripe's balance includes later days (the snapshot it
    must not record), then a run up to now: the ledger proves the snapshot; a wrong one is named."""
    path = tmp_path / "built" / "warehouse.duckdb"
    middle = small_world.spec.start_ts + 5 * DAY
    with SandboxStripeServer(small_world, API_KEY) as server, warehouse.connect(path) as connection:
        settings = StripeApiSettings(api_key=API_KEY, api_base=server.url)
        assert ingest(settings, connection, Window(at(small_world.spec.start_ts), at(middle))).balance_snapshots == {}
        stats = ingest(settings, connection, Window(at(middle - settings.overlap_seconds), at(small_world.as_of)))
        assert stats.balance_snapshots == {OWN_ACCOUNT_ID: naive(small_world.as_of)}
    build(path)  # a failing proof fails the build
    damaged = copy_ledger(path, tmp_path / "damaged")
    with duckdb.connect(str(damaged)) as connection:
        connection.execute("update raw.stripe_balance_snapshots set pending_minor = pending_minor + 250 where currency = 'eur'")
    [snapshot] = culprit_rows(damaged, compiled_test_sql(path, "assert_stripe_balance_rolls_forward"))
    assert (snapshot["currency"], snapshot["difference_minor"]) == ("eur", -250)
    clearing = culprit_rows(damaged, compiled_test_sql(path, "clearing_equals_stripe_balance"))
    assert [(row["account_code"], row["currency"], row["difference_minor"]) for row in clearing] == [("1010", "eur", -250)]


def test_a_backfill_lands_no_payout_created_after_its_window(small_world, stripe_server, settings, tmp_path):
    """Payouts arriving since the lookback are read again (one may turn failed), but a payout created
    after the window holds transactions the window did not land: landed, it would fail the payout
    proof with contents the ledger does not have."""
    end = small_world.spec.start_ts + 4 * DAY
    past = Window(at(small_world.spec.start_ts), at(end))
    created = small_world.payouts.column("created").to_pylist()
    assert any(moment >= end for moment in created)
    with warehouse.connect(tmp_path / "warehouse.duckdb") as connection:
        ingest(settings, connection, past)
        assert connection.execute("select count(*) from raw.stripe_payouts where created >= ?", [naive(end)]).fetchone() == (0,)
        assert connection.execute("select count(*) from raw.stripe_payouts").fetchone()[0] == sum(1 for moment in created if moment < end)
        assert connection.execute("""
            select count(*) from raw.stripe_payout_transactions as links
            where links.balance_transaction_id not in (select id from raw.stripe_balance_transactions)""").fetchone() == (0,)
