"""Every user mistake on the console script is one line on stderr and an exit code, never a traceback.

Each test runs `stripe-close` in a subprocess in an empty folder, as a user would, and asserts the
exact line; none needs a close except the empty-period refusals, which share the session's one.
"""

import socket

import pytest

from tests.conftest import API_KEY
from tests.e2e.test_cli import run_cli

pytestmark = pytest.mark.e2e


# The subcommands that read Stripe with STRIPE_API_KEY.
KEYED_COMMANDS = [("ingest",), ("run", "--start", "2026-10-01", "--end", "2026-10-31"), ("backfill", "--from", "2026-10", "--to", "2026-10")]


def one_line(result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def closed_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("command", [
    ("package", "--period", "2026-13"),
    ("export", "--period", "2026-1"),
    ("close", "--period", "10-2026"),
    ("reopen", "--period", "2026-00", "--reason", "x"),
    ("backfill", "--from", "2026-10", "--to", "2026/11"),
])
def test_a_malformed_period_is_refused_at_once_the_same_way_everywhere(tmp_path, command):
    result = run_cli(*command, cwd=tmp_path)
    value = command[command.index("--from") + 3] if command[0] == "backfill" else command[2]
    option = "--to" if command[0] == "backfill" else "--period"
    assert result.returncode == 2
    assert one_line(result) == (f"stripe-close {command[0]}: argument {option}: {value!r} is not a month in the form YYYY-MM "
                                f"(e.g. 2026-10) (see stripe-close {command[0]} --help)")
    assert not (tmp_path / ".close").exists(), "nothing is opened before the period is checked"


@pytest.mark.parametrize("command", [("package", "--period", "2026-10"), ("export", "--period", "2026-10")])
def test_package_and_export_before_any_close_say_to_run_it_first(tmp_path, command):
    result = run_cli(*command, cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result) == f"stripe-close {command[0]}: no ledger in {tmp_path}/.close/warehouse.duckdb: run `stripe-close run` first"


@pytest.mark.parametrize(("command", "missing"), [
    (("close", "--period", "2026-10"), "no Stripe data"), (("reopen", "--period", "2026-10", "--reason", "late refund"), "no ledger"),
])
def test_close_and_reopen_before_any_run_say_to_run_it_first(tmp_path, command, missing):
    result = run_cli(*command, cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result) == f"stripe-close {command[0]}: {missing} in {tmp_path}/.close/warehouse.duckdb: run `stripe-close run` first"
    assert not (tmp_path / ".close" / "warehouse.duckdb").exists()


def test_package_of_a_warehouse_with_only_bank_statements_says_no_ledger(tmp_path):
    (tmp_path / "inbox").mkdir()
    assert run_cli("bank", "load", str(tmp_path / "inbox"), cwd=tmp_path).returncode == 0
    assert (tmp_path / ".close" / "warehouse.duckdb").exists()
    result = run_cli("package", "--period", "2026-10", cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result) == f"stripe-close package: no ledger in {tmp_path}/.close/warehouse.duckdb: run `stripe-close run` first"


@pytest.mark.parametrize("command", KEYED_COMMANDS)
def test_a_missing_key_is_one_line(tmp_path, command):
    result = run_cli(*command, cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result) == f"stripe-close {command[0]}: STRIPE_API_KEY is not set (a restricted, read-only key is enough)"


@pytest.mark.parametrize("command", KEYED_COMMANDS)
def test_an_unreachable_api_names_the_url_and_the_cause(tmp_path, command):
    base = f"http://127.0.0.1:{closed_port()}"
    result = run_cli(*command, cwd=tmp_path, env={"STRIPE_API_KEY": "sk_test_whatever", "STRIPE_API_BASE": base})
    assert result.returncode == 2
    assert one_line(result) == f"stripe-close {command[0]}: the Stripe API at {base} is unreachable: Connection refused"


@pytest.mark.parametrize("command", KEYED_COMMANDS)
def test_a_key_the_api_refuses_is_one_line_without_the_key(tmp_path, stripe_server, command):
    wrong = "sk_test_not_the_sandbox_key_4242"
    result = run_cli(*command, cwd=tmp_path, env={"STRIPE_API_KEY": wrong, "STRIPE_API_BASE": stripe_server.url})
    assert result.returncode == 2
    assert one_line(result) == (f"stripe-close {command[0]}: the Stripe API at {stripe_server.url} refused STRIPE_API_KEY "
                                "(HTTP 401): set a valid secret or restricted key")
    assert "4242" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", KEYED_COMMANDS[1:])
def test_a_missing_bank_inbox_setting_is_one_line_before_anything_is_ingested(tmp_path, stripe_server, command):
    env = {"STRIPE_API_KEY": API_KEY, "STRIPE_API_BASE": stripe_server.url, "CLOSE_BANK_INBOX": str(tmp_path / "statements")}
    result = run_cli(*command, cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert one_line(result) == (f"stripe-close {command[0]}: CLOSE_BANK_INBOX: bank inbox folder {tmp_path}/statements does not exist "
                                "(give a folder or an s3://bucket/prefix)")
    assert not (tmp_path / ".close" / "warehouse.duckdb").exists()


def test_a_missing_bank_inbox_folder_is_one_line(tmp_path):
    result = run_cli("bank", "load", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result) == f"stripe-close bank load: bank inbox folder {tmp_path}/nowhere does not exist (give a folder or an s3://bucket/prefix)"


@pytest.mark.parametrize("command", [("demo",), ("sandbox", "serve"), ("chaos",), ("bench",), ("bench", "close"), ("bench", "ingest")])
def test_a_sandbox_world_below_its_minimum_days_is_refused_before_it_starts(tmp_path, command):
    result = run_cli(*command, "--days", "2", cwd=tmp_path)
    assert result.returncode == 2
    prog = " ".join(("stripe-close", *command))
    assert one_line(result) == f"{prog}: argument --days: 2 is below the minimum of 10 (see {prog} --help)"


def test_a_malformed_day_is_one_line(tmp_path):
    result = run_cli("run", "--start", "2026-10-32", "--end", "2026-10-31", cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result) == ("stripe-close run: argument --start: '2026-10-32' is not a day in the form YYYY-MM-DD (e.g. 2026-10-01) "
                                "(see stripe-close run --help)")


@pytest.mark.parametrize("command", ["package", "export"])
def test_package_and_export_refuse_a_period_without_journal_lines(closed_small_world, tmp_path, command):
    env = {"CLOSE_WAREHOUSE": str(closed_small_world.settings.warehouse), "CLOSE_EXPORT_DIR": str(tmp_path / "exports")}
    result = run_cli(command, "--period", "2026-12", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert one_line(result) == (f"stripe-close {command}: refused: no journal lines in 2026-12, so there is nothing to {command} "
                                "(pass --allow-empty to do it anyway)")
    assert not (tmp_path / "exports").exists()


def test_package_of_an_empty_period_with_allow_empty_is_written(closed_small_world, tmp_path):
    env = {"CLOSE_WAREHOUSE": str(closed_small_world.settings.warehouse), "CLOSE_EXPORT_DIR": str(tmp_path / "exports")}
    result = run_cli("package", "--period", "2026-12", "--allow-empty", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "exports" / "main" / "2026-12" / "close_package" / "close_package_main_2026-12.html").exists()


def test_export_of_an_empty_period_with_allow_empty_says_nothing_was_exported(closed_small_world, tmp_path):
    env = {"CLOSE_WAREHOUSE": str(closed_small_world.settings.warehouse), "CLOSE_EXPORT_DIR": str(tmp_path / "exports")}
    result = run_cli("export", "--period", "2026-12", "--allow-empty", cwd=tmp_path, env=env)
    assert (result.returncode, result.stdout, result.stderr) == (0, "no journal lines in 2026-12: nothing exported (--allow-empty)\n", "")
    assert not (tmp_path / "exports").exists()


@pytest.mark.parametrize("command", [("run", "--start", "2026-10-31", "--end", "2026-10-01"), ("ingest", "--start", "2026-10-31", "--end", "2026-10-01")])
def test_a_window_ending_before_it_starts_is_one_line(tmp_path, command):
    result = run_cli(*command, cwd=tmp_path, env={"STRIPE_API_KEY": "sk_test_whatever"})
    assert result.returncode == 2
    assert one_line(result) == f"stripe-close {command[0]}: --end 2026-10-01 is before --start 2026-10-31"


def test_push_of_the_accountants_journal_is_one_line_before_anything_is_read(tmp_path):
    result = run_cli("export", "--period", "2026-10", "--target", "generic", "--push", cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result) == "stripe-close export: --push works with --target netsuite or sap"
