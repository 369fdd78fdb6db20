"""A key that may not read everything: ingestion needs no `GET /v1/account`, and a refused
endpoint stops the run with one line naming it and the permission the restricted key lacks."""

import dataclasses
import os
import subprocess
import sys
from datetime import datetime, timezone

import duckdb
import pytest

from ledger import warehouse
from ledger.config import ConfigError
from ledger.sources.ingest_settings import IngestSettings
from ledger.sources.stripe_api import StripeApiSettings, Window, ingest
from ledger.sources.stripe_http import StripeAccessDenied
from ledger.sources.stripe_permissions import refusal
from sandbox.merchant import simulate
from sandbox.stripe_api import SandboxStripeServer, ServerBehaviour
from tests.conftest import API_KEY

NO_ACCOUNT = ServerBehaviour(refused_endpoints=("/v1/account",))
NO_PAYOUTS = ServerBehaviour(refused_endpoints=("/v1/payouts",))


def at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


@pytest.fixture
def window(small_world) -> Window:
    return Window(at(small_world.spec.start_ts), at(small_world.as_of))


def landed(connection: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return connection.execute(f"select stripe_account_id, count(*) from raw.{table} group by all order by all").fetchall()


def test_ingest_succeeds_when_the_key_may_not_read_its_account(small_world, window, tmp_path):
    """Without STRIPE_ACCOUNT_ID the rows carry no account (they book to the default entity), and
    the run says why and what to set."""
    with SandboxStripeServer(small_world, API_KEY, behaviour=NO_ACCOUNT) as server, warehouse.connect(tmp_path / "w.duckdb") as connection:
        stats = ingest(StripeApiSettings(api_key=API_KEY, api_base=server.url), connection, window, now=window.end)
        assert landed(connection, "stripe_balance_transactions") == [(None, small_world.balance_transactions.num_rows)]
        assert landed(connection, "stripe_payouts") == [(None, small_world.payouts.num_rows)]
        assert warehouse.read_cursor(connection, "balance_transactions") == window.end.replace(tzinfo=None)
    assert stats.balance_transactions == small_world.balance_transactions.num_rows
    assert stats.warnings == [
        "GET /v1/account refused (HTTP 403): the key lacks \"Connect > Accounts: Read\" (rak_connected_account_read), so the "
        "key's own account is not known; its rows carry no stripe_account_id and book to the default entity (CLOSE_ENTITY_ID). "
        "Set STRIPE_ACCOUNT_ID=acct_... to stamp them."
    ]
    assert stats.as_metadata()["warnings"] == stats.warnings


def test_the_account_id_from_settings_stamps_every_row_without_reading_the_account(small_world, window, tmp_path):
    with SandboxStripeServer(small_world, API_KEY, behaviour=NO_ACCOUNT) as server, warehouse.connect(tmp_path / "w.duckdb") as connection:
        settings = StripeApiSettings(api_key=API_KEY, api_base=server.url, account_id="acct_main")
        stats = ingest(settings, connection, window, now=window.end)
        assert landed(connection, "stripe_balance_transactions") == [("acct_main", small_world.balance_transactions.num_rows)]
        assert landed(connection, "stripe_payout_transactions")[0][0] == "acct_main"
        assert {row[0] for row in connection.execute("select stripe_account_id from raw.stripe_balance_snapshots").fetchall()} == {"acct_main"}
    assert stats.warnings == []
    assert stats.telemetry.failed_request_ids == [], "GET /v1/account was not even tried"


def test_a_refused_endpoint_fails_with_one_line_naming_it_and_the_permission(small_world, window, tmp_path):
    with SandboxStripeServer(small_world, API_KEY, behaviour=NO_PAYOUTS) as server, warehouse.connect(tmp_path / "w.duckdb") as connection:
        with pytest.raises(StripeAccessDenied) as error:
            ingest(StripeApiSettings(api_key=API_KEY, api_base=server.url), connection, window, now=window.end)
        assert connection.execute("select count(*) from raw.stripe_payouts").fetchone() == (0,)
        assert warehouse.read_cursor(connection, "payouts") is None
    message = str(error.value)
    assert message.startswith(
        "Stripe refused GET /v1/payouts (HTTP 403): the API key lacks the permission \"Payouts: Read\" (rak_payout_read); "
        "give it to the restricted key (docs/ingestion.md lists every permission stripe-close needs); request id req_"
    )
    assert "\n" not in message and API_KEY not in message and API_KEY[-4:] not in message


def test_a_wrong_key_fails_with_one_line_naming_the_endpoint(small_world, window, tmp_path):
    with SandboxStripeServer(small_world, API_KEY) as server, warehouse.connect(tmp_path / "w.duckdb") as connection:
        with pytest.raises(StripeAccessDenied) as error:
            ingest(StripeApiSettings(api_key="rk_test_wrong_key_123456", api_base=server.url), connection, window)
    assert str(error.value).startswith(
        "Stripe refused the API key on GET /v1/account (HTTP 401): it is wrong, expired or revoked; check STRIPE_API_KEY; request id req_"
    )
    assert "wrong_key" not in str(error.value)


def test_the_cli_says_one_line_and_exits_1_when_an_endpoint_is_refused(small_world, tmp_path):
    with SandboxStripeServer(small_world, API_KEY, behaviour=NO_PAYOUTS) as server:
        environment = {
            **os.environ, "CLOSE_SOURCE": "api", "CLOSE_WAREHOUSE": str(tmp_path / "w.duckdb"), "STRIPE_API_KEY": API_KEY,
            "STRIPE_API_BASE": server.url,
        }
        start, end = small_world.spec.start.isoformat(), at(small_world.as_of - 1).date().isoformat()
        result = subprocess.run([sys.executable, "-m", "orchestration.cli", "ingest", "--start", start, "--end", end],
                                env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stdout == ""
    # Progress lines (the streams read so far) come first; the refusal is one line.
    lines = [line for line in result.stderr.strip().splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith('error: Stripe refused GET /v1/payouts (HTTP 403): the API key lacks the permission "Payouts: Read" (rak_payout_read)')
    assert API_KEY not in result.stderr


def test_a_close_run_ends_with_one_line_and_exit_1_when_an_endpoint_is_refused(small_world, tmp_path):
    with SandboxStripeServer(small_world, API_KEY, behaviour=NO_PAYOUTS) as server:
        environment = {
            **os.environ, "CLOSE_SOURCE": "api", "CLOSE_WAREHOUSE": str(tmp_path / "w.duckdb"), "STRIPE_API_KEY": API_KEY,
            "STRIPE_API_BASE": server.url, "DAGSTER_HOME": str(tmp_path / "dagster"), "CLOSE_EXPORT_DIR": str(tmp_path / "exports"),
        }
        start, end = small_world.spec.start.isoformat(), at(small_world.as_of - 1).date().isoformat()
        result = subprocess.run([sys.executable, "-m", "orchestration.cli", "run", "--start", start, "--end", end],
                                env=environment, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and API_KEY not in result.stderr + result.stdout
    # One refusal among the progress lines, and last the log file of the run that stopped.
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("stripe-close run: the log is ")
    [last] = [line for line in lines if line.startswith("error: ")]
    assert last.startswith(f"error: the close of {start}..{end} failed at stripe_ingest: ")
    assert 'Stripe refused GET /v1/payouts (HTTP 403): the API key lacks the permission "Payouts: Read" (rak_payout_read)' in last


def test_the_own_account_id_comes_from_stripe_account_id_and_is_checked():
    assert IngestSettings.from_env({"STRIPE_ACCOUNT_ID": " acct_1Own "}).api.account_id == "acct_1Own"
    assert IngestSettings.from_env({}).api.account_id is None
    with pytest.raises(ConfigError, match=r"^STRIPE_ACCOUNT_ID='1Own' is not a Stripe account id \(acct_\.\.\.\)$"):
        IngestSettings.from_env({"STRIPE_ACCOUNT_ID": "1Own"})


def test_listed_accounts_are_read_and_stamped_when_the_key_may_not_read_its_own(small_world, window, tmp_path):
    """With STRIPE_ACCOUNT_IDS and no GET /v1/account, each listed account (the key's own too) is
    read with `Stripe-Account` and stamped with its id: nothing is left unstamped, nothing to warn."""
    europe = simulate(dataclasses.replace(small_world.spec, seed=12))
    with SandboxStripeServer(small_world, API_KEY, behaviour=NO_ACCOUNT, connected={"acct_1Europe": europe}) as server, \
            warehouse.connect(tmp_path / "w.duckdb") as connection:
        settings = StripeApiSettings(api_key=API_KEY, api_base=server.url, accounts=("acct_main", "acct_1Europe"))
        stats = ingest(settings, connection, window, now=window.end)
        assert landed(connection, "stripe_balance_transactions") == [
            ("acct_1Europe", europe.balance_transactions.num_rows), ("acct_main", small_world.balance_transactions.num_rows),
        ]
    assert stats.warnings == []


@pytest.mark.parametrize(
    ("path", "body", "lacking"),
    [
        # Stripe's answer names the permission: it wins, known or not.
        ("/v1/balance_transactions", {"error": {"message": "... Having the 'rak_payout_read' permission would allow this request to continue."}},
         'the permission "Payouts: Read" (rak_payout_read)'),
        ("/v1/balance_transactions", {"error": {"message": "... Having the 'rak_balance_transaction_source_read' permission would allow ..."}},
         "the permission rak_balance_transaction_source_read"),
        # A proxy's 403, or Stripe's without a name: the table's permission for the endpoint.
        ("/v1/balance_transactions/txn_1", None, 'the permission "Balance: Read" (rak_balance_read)'),
        ("/v1/charges", {"error": {"message": "Forbidden"}}, 'the permission "Charges and Refunds: Read" (rak_charge_read)'),
        ("/v1/customers", {"error": {"message": "Forbidden"}}, "a permission for this endpoint"),
    ],
)
def test_the_refusal_names_the_permission_stripe_named_else_the_endpoints(path, body, lacking):
    assert refusal(path, 403, body, None) == (
        f"Stripe refused GET {path} (HTTP 403): the API key lacks {lacking}; give it to the restricted key "
        "(docs/ingestion.md lists every permission stripe-close needs)"
    )
