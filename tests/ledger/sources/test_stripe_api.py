"""Ingestion through the real stripe SDK from the sandbox API into a real DuckDB file."""

from datetime import datetime, timezone

import duckdb
import pytest

from ledger import warehouse
from ledger.sources.stripe_api import StripeApiSettings, Window, ingest, plan_window
from ledger.sources.stripe_http import StripeAccessDenied
from sandbox import stripe_objects
from tests.conftest import API_KEY


def at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


@pytest.fixture
def window(small_world) -> Window:
    start = datetime.fromtimestamp(small_world.spec.start_ts, tz=timezone.utc)
    end = datetime.fromtimestamp(small_world.spec.end_ts, tz=timezone.utc)
    return Window(start, end)


def table_rows(path, table, order):
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(f"select * exclude (_loaded_at) from raw.{table} order by {order}").fetchall()


def test_ingest_lands_every_object_exactly(stripe_server, small_world, window, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    settings = StripeApiSettings(api_key=API_KEY, api_base=stripe_server.url)
    with warehouse.connect(path) as connection:
        stats = ingest(settings, connection, window)
    world = small_world.balance_transactions.to_pylist()
    assert stats.balance_transactions == len(world)
    assert stats.payouts == small_world.payouts.num_rows
    assert stats.request_ids_failed == []
    rows = {row[0]: row for row in table_rows(path, "stripe_balance_transactions", "id")}
    assert len(rows) == len(world)
    for expected in world:
        landed = rows[expected["id"]]
        assert landed[1:7] == (expected["amount"], expected["fee"], expected["net"], expected["currency"], expected["type"], expected["reporting_category"])
        assert int(landed[7].replace(tzinfo=timezone.utc).timestamp()) == expected["created"]
    fee_details = table_rows(path, "stripe_fee_details", "balance_transaction_id, position")
    assert len(fee_details) == sum(len(stripe_objects.fee_details(row)) for row in world)
    dispute = next(row for row in world if row["event"] == "dispute")
    assert [(d[2], d[4], d[5]) for d in fee_details if d[0] == dispute["id"]] == [(1_500, "stripe_fee", "Dispute fee")]
    links = table_rows(path, "stripe_payout_transactions", "payout_id, balance_transaction_id")
    settled = [p for p in small_world.payouts.to_pylist() if p["arrival_date"] <= small_world.as_of]
    assert {payout for payout, *_ in links} == {p["id"] for p in settled}
    assert len(links) == sum(1 for row in world if row["automatic_payout_id"] in {p["id"] for p in settled})
    snapshot = table_rows(path, "stripe_balance_snapshots", "currency")
    assert snapshot and {row[5] for row in snapshot} == {"acct_main"}
    for _, currency, available, pending, reserved, _account, _source in snapshot:
        assert available + pending == sum(row["net"] for row in world if row["currency"] == currency)


def test_ingesting_the_same_window_twice_changes_nothing(stripe_server, window, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    settings = StripeApiSettings(api_key=API_KEY, api_base=stripe_server.url)
    orders = {
        "stripe_balance_transactions": "id", "stripe_fee_details": "balance_transaction_id, position",
        "stripe_payouts": "id", "stripe_payout_transactions": "payout_id, balance_transaction_id",
        "stripe_balance_snapshots": "as_of, currency",
    }
    with warehouse.connect(path) as connection:
        ingest(settings, connection, window)
    first = {table: table_rows(path, table, order) for table, order in orders.items()}
    with warehouse.connect(path) as connection:
        ingest(settings, connection, window)
    second = {table: table_rows(path, table, order) for table, order in orders.items()}
    assert first == second
    assert all(first.values())


def test_a_payout_that_fails_later_is_updated_on_the_next_incremental_run(stripe_server, small_world, window, tmp_path):
    failed = next(p for p in small_world.payouts.to_pylist() if p["failure_balance_transaction"])
    path = tmp_path / "warehouse.duckdb"
    settings = StripeApiSettings(api_key=API_KEY, api_base=stripe_server.url)
    first_clock = failed["failed_at"] - 1
    stripe_server.set_clock(first_clock)
    with warehouse.connect(path) as connection:
        first = plan_window(connection, settings, window.start, None, at(first_clock), first_run_days=2)
        ingest(settings, connection, first, now=at(first_clock))
        assert connection.execute("select status from raw.stripe_payouts where id = ?", [failed["id"]]).fetchone() == ("paid",)
        assert warehouse.read_cursor(connection, "balance_transactions") == at(first_clock).replace(tzinfo=None)
    stripe_server.set_clock(small_world.as_of)
    with warehouse.connect(path) as connection:
        # No start: the run continues from the cursors, less the overlap.
        second = plan_window(connection, settings, None, None, at(small_world.as_of), first_run_days=2)
        assert second.start == at(first_clock - settings.overlap_seconds)
        ingest(settings, connection, second, now=at(small_world.as_of))
        status, failure = connection.execute(
            "select status, failure_balance_transaction_id from raw.stripe_payouts where id = ?", [failed["id"]]
        ).fetchone()
        assert (status, failure) == ("failed", failed["failure_balance_transaction"])
        assert connection.execute("select type, amount from raw.stripe_balance_transactions where id = ?", [failure]).fetchone() == ("payout_failure", failed["amount"])
        assert connection.execute("select count(*) from raw.stripe_balance_transactions").fetchone()[0] == small_world.balance_transactions.num_rows


def test_a_wrong_key_fails_clearly_and_lands_nothing(stripe_server, window, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with warehouse.connect(path) as connection:
        with pytest.raises(StripeAccessDenied, match=r"^Stripe refused the API key on GET /v1/account \(HTTP 401\)") as error:
            ingest(StripeApiSettings(api_key="sk_test_wrong_key_123", api_base=stripe_server.url), connection, window)
        assert "wrong_key" not in str(error.value)
        assert connection.execute("select count(*) from raw.stripe_balance_transactions").fetchone() == (0,)


def test_an_account_the_key_cannot_reach_fails_naming_it_and_lands_nothing(stripe_server, window, tmp_path):
    settings = StripeApiSettings(api_key=API_KEY, api_base=stripe_server.url, accounts=("acct_1NotConnected",))
    with warehouse.connect(tmp_path / "warehouse.duckdb") as connection:
        with pytest.raises(StripeAccessDenied) as error:
            ingest(settings, connection, window)
        assert str(error.value).startswith(
            "Stripe refused GET /v1/balance for account acct_1NotConnected (HTTP 403): the key has no access to that account "
            "(not connected to this platform, or its access was revoked); check STRIPE_ACCOUNT_IDS; request id req_"
        )
        assert API_KEY not in str(error.value)
        assert connection.execute("select count(*) from raw.stripe_balance_transactions").fetchone() == (0,)
        assert warehouse.read_cursor(connection, "balance_transactions@acct_1NotConnected") is None


def test_an_empty_key_is_a_configuration_error(window, tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as connection:
        with pytest.raises(ValueError, match="STRIPE_API_KEY is empty"):
            ingest(StripeApiSettings(api_key=""), connection, window)


def test_settings_never_show_the_key():
    assert "sk_live_secret" not in repr(StripeApiSettings(api_key="sk_live_secret"))


def test_a_window_must_be_aware_and_forward():
    with pytest.raises(ValueError, match="timezone-aware"):
        Window(datetime(2026, 10, 1), datetime(2026, 10, 2))
    with pytest.raises(ValueError, match="is not after"):
        Window(datetime(2026, 10, 2, tzinfo=timezone.utc), datetime(2026, 10, 1, tzinfo=timezone.utc))
