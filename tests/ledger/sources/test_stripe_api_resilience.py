"""API ingestion against a misbehaving sandbox: error storms, rate limits, late objects, a killed run."""

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

import duckdb
import pytest

from ledger import warehouse
from ledger.config import ConfigError
from ledger.sources import stripe_records
from ledger.sources.ingest_settings import IngestSettings
from ledger.sources.stripe_api import StripeApiSettings, Window, ingest, plan_window
from ledger.sources.stripe_http import RetryPolicy, StripeRequestFailed
from sandbox.stripe_api import SandboxStripeServer, ServerBehaviour
from tests.conftest import API_KEY

# Twelve attempts, not the default eight: with parallel workers interleaving, one injected burst
# can catch the same request several times in a row, so eight lose a request now and then under load.
FAST_RETRIES = RetryPolicy(max_attempts=12, base_delay_s=0.005, max_delay_s=0.05)


def at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


def whole_world(world) -> Window:
    return Window(at(world.spec.start_ts), at(world.as_of))


def raw_tables(path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return {
            table: connection.execute(f"select * exclude (_loaded_at) from raw.{table} order by all").fetchall()
            for table in warehouse.RAW_TABLES
        }


@pytest.fixture(scope="module")
def clean_run(small_world, tmp_path_factory):
    """The raw tables of an undisturbed run over the whole small world."""
    path = tmp_path_factory.mktemp("clean") / "warehouse.duckdb"
    with SandboxStripeServer(small_world, API_KEY) as server, warehouse.connect(path) as connection:
        window = whole_world(small_world)
        ingest(StripeApiSettings(api_key=API_KEY, api_base=server.url, max_requests_per_second=500), connection, window, now=window.end)
    return raw_tables(path)


def test_a_storm_of_429s_and_5xx_still_ends_complete(small_world, clean_run, tmp_path):
    storm = ServerBehaviour(failure_rate=0.3, failure_statuses=(429, 500, 503), burst_length=2, seed=5)
    path = tmp_path / "warehouse.duckdb"
    with SandboxStripeServer(small_world, API_KEY, behaviour=storm) as server, warehouse.connect(path) as connection:
        settings = StripeApiSettings(api_key=API_KEY, api_base=server.url, max_requests_per_second=500, retry=FAST_RETRIES)
        window = whole_world(small_world)
        stats = ingest(settings, connection, window, now=window.end)
    assert raw_tables(path) == clean_run
    figures = stats.telemetry.summary()
    assert figures["rate_limited_429"] > 0 and figures["server_errors_5xx"] > 0
    assert figures["retries"] == figures["rate_limited_429"] + figures["server_errors_5xx"]
    assert figures["failed_request_ids"] and all(rid.startswith("req_") for rid in figures["failed_request_ids"])
    assert figures["objects"] >= small_world.balance_transactions.num_rows
    assert figures["latency_p50_ms"] <= figures["latency_p95_ms"] <= figures["latency_p99_ms"]
    assert API_KEY not in str(stats.as_metadata())


def test_a_server_that_never_recovers_fails_clearly_and_lands_nothing(small_world, tmp_path):
    down = ServerBehaviour(failure_rate=1.0, failure_statuses=(503,))
    path = tmp_path / "warehouse.duckdb"
    with SandboxStripeServer(small_world, API_KEY, behaviour=down) as server, warehouse.connect(path) as connection:
        settings = StripeApiSettings(api_key=API_KEY, api_base=server.url, max_requests_per_second=500, retry=RetryPolicy(3, 0.001, 0.01))
        with pytest.raises(StripeRequestFailed, match=r"GET /v1/account failed 3 times, last with HTTP 503; request ids req_\d+") as error:
            ingest(settings, connection, whole_world(small_world))
        assert API_KEY not in str(error.value)
        assert connection.execute("select count(*) from raw.stripe_payouts").fetchone() == (0,)
        assert warehouse.read_cursor(connection, "balance_transactions") is None


def test_parallel_workers_share_one_rate_limit(small_world, clean_run, tmp_path):
    """The server allows 40 requests a second per key; eight workers pacing at 30/s never meet a 429."""
    limited = ServerBehaviour(rate_limit_per_second=40)
    path = tmp_path / "warehouse.duckdb"
    with SandboxStripeServer(small_world, API_KEY, behaviour=limited) as server, warehouse.connect(path) as connection:
        settings = StripeApiSettings(api_key=API_KEY, api_base=server.url, max_requests_per_second=30, workers=8)
        window = whole_world(small_world)
        stats = ingest(settings, connection, window, now=window.end)
    assert stats.telemetry.rate_limited == 0
    assert raw_tables(path) == clean_run


def test_a_client_faster_than_the_limit_backs_off_on_429_and_completes(small_world, clean_run, tmp_path):
    limited = ServerBehaviour(rate_limit_per_second=20)
    path = tmp_path / "warehouse.duckdb"
    with SandboxStripeServer(small_world, API_KEY, behaviour=limited) as server, warehouse.connect(path) as connection:
        settings = StripeApiSettings(api_key=API_KEY, api_base=server.url, max_requests_per_second=200, workers=8,
                                     retry=RetryPolicy(max_attempts=12, base_delay_s=0.05, max_delay_s=0.5))
        window = whole_world(small_world)
        stats = ingest(settings, connection, window, now=window.end)
    assert stats.telemetry.rate_limited > 0
    assert raw_tables(path) == clean_run


def test_a_shared_budget_below_the_client_rate_adapts_the_rate_and_lands_every_row(small_world, clean_run, tmp_path):
    """Issue #14 item 5: other integrations share the account's budget, so Stripe allows 20
    requests/s where the client is set to 40. The shared rate comes down on `global-rate` 429s and
    the run lands every row with the default retry policy; the telemetry shows the adapted rate.
    (The limiter's steps are shares of its rates, so it adapts alike at any scale: the higher
    rates and longer slices only make the run shorter.)"""
    shared = ServerBehaviour(rate_limit_per_second=20)
    path = tmp_path / "warehouse.duckdb"
    with SandboxStripeServer(small_world, API_KEY, behaviour=shared) as server, warehouse.connect(path) as connection:
        # Three-hour slices: a few hundred requests, ten-odd seconds at the server's limit.
        settings = StripeApiSettings(api_key=API_KEY, api_base=server.url, max_requests_per_second=40, workers=8, slice_seconds=10_800)
        window = whole_world(small_world)
        stats = ingest(settings, connection, window, now=window.end)
    assert raw_tables(path) == clean_run
    figures = stats.telemetry.summary()
    assert figures["requests"] >= 200
    assert figures["requests_per_s_configured"] == 40
    assert figures["rate_limit_decreases"] >= 1
    assert figures["requests_per_s_lowest"] <= 20
    assert 0 < figures["requests_per_s_achieved"] <= 40
    # Adapting, the client spends few requests on refusals (a fixed 40/s has about one in two refused).
    assert 0 < figures["rate_limited_429"] <= figures["requests"] / 5


def test_an_endpoint_rate_limit_slows_that_endpoint_and_the_run_completes(small_world, clean_run, tmp_path):
    per_endpoint = ServerBehaviour(endpoint_rate_limit_per_second=10)
    path = tmp_path / "warehouse.duckdb"
    with SandboxStripeServer(small_world, API_KEY, behaviour=per_endpoint) as server, warehouse.connect(path) as connection:
        settings = StripeApiSettings(api_key=API_KEY, api_base=server.url, max_requests_per_second=20, workers=8)
        window = whole_world(small_world)
        stats = ingest(settings, connection, window, now=window.end)
    assert raw_tables(path) == clean_run
    figures = stats.telemetry.summary()
    assert figures["rate_limited_429"] > 0 and figures["rate_limit_decreases"] >= 1
    assert figures["requests_per_s_lowest"] <= 14


def test_rate_limiting_is_retried_for_a_time_budget_not_a_number_of_attempts(small_world, tmp_path):
    """A 429 that says it is rate limiting is retried until STRIPE_RATE_LIMIT_RETRY_SECONDS run out,
    however many attempts that takes, each retry waiting at least the server's Retry-After; then the
    error names the path, the reason and the budget.

    The counts hold on a machine of any speed: one attempt allowed, yet the first 429 is always
    retried (the budget has just begun); a Retry-After of 0.25 s fits at most five requests in the
    1 s budget (a slow machine only makes fewer), where the policy's own backoff (from 1 ms) would
    send a dozen or more in the same second."""
    exhausted = ServerBehaviour(rate_limit_per_second=0, rate_limit_retry_after_s=0.25)
    path = tmp_path / "warehouse.duckdb"
    with SandboxStripeServer(small_world, API_KEY, behaviour=exhausted) as server, warehouse.connect(path) as connection:
        settings = StripeApiSettings(api_key=API_KEY, api_base=server.url, account_id="acct_main",
                                     retry=RetryPolicy(max_attempts=1, base_delay_s=0.001, max_delay_s=0.25, rate_limit_budget_s=1.0))
        with pytest.raises(StripeRequestFailed) as error:
            ingest(settings, connection, whole_world(small_world))
        # The balance is read first and alone: every request served was one of its attempts.
        assert settings.retry.max_attempts < server.requests_served <= 5
        assert connection.execute("select count(*) from raw.stripe_balance_snapshots").fetchone() == (0,)
    message = str(error.value)
    assert message.startswith("GET /v1/balance still rate limited by Stripe (HTTP 429, global-rate) after 1 s of retries "
                              "(STRIPE_RATE_LIMIT_RETRY_SECONDS); request ids req_")
    assert error.value.__cause__ is None and API_KEY not in message


def test_the_retry_budgets_come_from_the_environment():
    retry = IngestSettings.from_env({"STRIPE_RATE_LIMIT_RETRY_SECONDS": "600", "STRIPE_MAX_ATTEMPTS": "5"}).api.retry
    assert (retry.rate_limit_budget_s, retry.max_attempts) == (600.0, 5)
    assert IngestSettings.from_env({}).api.retry == RetryPolicy(max_attempts=8, rate_limit_budget_s=300.0)
    with pytest.raises(ConfigError, match=r"^STRIPE_RATE_LIMIT_RETRY_SECONDS='soon' is not a number$"):
        IngestSettings.from_env({"STRIPE_RATE_LIMIT_RETRY_SECONDS": "soon"})


def test_late_objects_are_caught_by_the_overlap_of_the_next_run(small_world, tmp_path):
    """Half the transactions become listable twelve hours after `created` (the small world has few
    transactions an hour); an overlap of thirteen hours lets the next incremental run pick up
    those the first run could not see."""
    late = ServerBehaviour(late_share=0.5, late_seconds=12 * 3_600)
    middle = small_world.spec.start_ts + 5 * 86_400 + 7_200
    path = tmp_path / "warehouse.duckdb"
    with SandboxStripeServer(small_world, API_KEY, clock=middle, behaviour=late) as server:
        settings = StripeApiSettings(api_key=API_KEY, api_base=server.url, max_requests_per_second=500, overlap_seconds=13 * 3_600)
        with warehouse.connect(path) as connection:
            ingest(settings, connection, Window(at(small_world.spec.start_ts), at(middle)), now=at(middle))
            landed = connection.execute("select count(*) from raw.stripe_balance_transactions").fetchone()[0]
        created = small_world.balance_transactions.column("created").to_pylist()
        assert landed < sum(1 for c in created if c <= middle), "some objects were not visible yet"
        # By now even the transactions of the world's last hours have become visible.
        later = small_world.as_of + late.late_seconds
        server.set_clock(later)
        with warehouse.connect(path) as connection:
            window = plan_window(connection, settings, None, None, at(later), first_run_days=2)
            assert window.start == at(middle - settings.overlap_seconds)
            ingest(settings, connection, window, now=at(later))
            landed_ids = {row[0] for row in connection.execute("select id from raw.stripe_balance_transactions").fetchall()}
    assert landed_ids == set(small_world.balance_transactions.column("id").to_pylist())


def test_a_run_killed_midway_resumes_to_the_same_tables_as_a_clean_run(small_world, clean_run, tmp_path):
    slow = ServerBehaviour(latency_s=0.02)
    path = tmp_path / "warehouse.duckdb"
    start, end = small_world.spec.start.isoformat(), at(small_world.as_of - 1).date().isoformat()
    with SandboxStripeServer(small_world, API_KEY, behaviour=slow) as server:
        environment = {
            **os.environ, "CLOSE_SOURCE": "api", "CLOSE_WAREHOUSE": str(path), "STRIPE_API_KEY": API_KEY, "STRIPE_API_BASE": server.url,
            "STRIPE_MAX_REQUESTS_PER_SECOND": "25", "STRIPE_INGEST_WORKERS": "2",
        }
        command = [sys.executable, "-m", "orchestration.cli", "ingest", "--start", start, "--end", end]
        process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        # Kill once the run is well into the balance transactions and payout contents.
        while server.requests_served < 25 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
        with warehouse.connect(path) as connection:
            assert warehouse.read_cursor(connection, "balance_transactions") is None
            partial = connection.execute("select count(*) from raw.stripe_balance_transactions").fetchone()[0]
        assert partial < small_world.balance_transactions.num_rows
        resumed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Ingested" in resumed.stdout and API_KEY not in resumed.stdout + resumed.stderr
    tables = raw_tables(path)
    assert {table: rows for table, rows in tables.items() if table != "stripe_balance_snapshots"} == {
        table: rows for table, rows in clean_run.items() if table != "stripe_balance_snapshots"
    }


def test_retry_delays_grow_with_jitter_and_honour_retry_after():
    policy = RetryPolicy(max_attempts=5, base_delay_s=0.5, max_delay_s=8)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (6, 8.0)]:
        delays = [policy.delay(attempt, None) for _ in range(200)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(set(delays)) > 100, "jittered"
    assert policy.delay(1, retry_after_s=3.0) >= 3.0
    assert policy.delay(1, retry_after_s=600.0) == 8.0


@pytest.mark.parametrize(
    ("payout", "reason"),
    [
        ({"automatic": True, "method": "standard", "reconciliation_status": "completed"}, None),
        ({"automatic": False, "method": "standard", "reconciliation_status": "not_applicable"}, "manual payout"),
        ({"automatic": True, "method": "instant", "reconciliation_status": "not_applicable"}, "instant payout"),
        ({"automatic": True, "method": "standard", "reconciliation_status": "in_progress"}, "reconciliation_status is in_progress"),
    ],
)
def test_which_payouts_can_be_itemized_and_why_not(payout, reason):
    found = stripe_records.not_itemizable_reason(payout)
    assert found == reason if reason is None else found.startswith(reason)
