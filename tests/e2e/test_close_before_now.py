"""A close of a window that ends before Stripe's "now" (a first backfill of an earlier month): the
sandbox Stripe API's clock is the end of the simulated days, so ingestion records no balance
snapshot, and the clearing = Stripe balance proof has nothing to compare with. The close succeeds;
the proof says it was not evaluated, naming each currency's last day, as a warning, not a failure,
and the roll-forward proof runs and passes."""

import dataclasses
from datetime import timedelta

import dagster as dg
import duckdb
import pytest

from ledger.config import CloseSettings
from orchestration.cli import _print_result
from orchestration.close_run import run_close
from sandbox.stripe_api import SandboxStripeServer
from tests.conftest import API_KEY, close_environment

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def closed_before_now(small_world, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("close-before-now")
    spec = small_world.spec
    settings = dataclasses.replace(
        CloseSettings.from_env({}), source="sandbox", warehouse=workdir / "warehouse.duckdb", export_dir=workdir / "exports",
        stripe_api_key=API_KEY,
    )
    with close_environment(), SandboxStripeServer(small_world, API_KEY) as server:
        settings = dataclasses.replace(settings, stripe_api_base=server.url)
        # Four days short of the sandbox's clock: the window does not reach "now".
        result = run_close(settings, spec.start, spec.start + timedelta(days=spec.days - 5), dg.DagsterInstance.ephemeral())
    return settings, result


def test_the_close_succeeds_and_warns_that_the_balance_proof_is_not_evaluated(closed_before_now):
    settings, result = closed_before_now
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        assert connection.execute("select count(*) from raw.stripe_balance_snapshots").fetchone() == (0,)
        last_days = connection.execute(
            "select currency, strftime(max(created)::date, '%Y-%m-%d') from raw.stripe_balance_transactions group by all order by 1").fetchall()
    assert [currency for currency, _ in last_days] == ["eur", "jpy", "usd"]
    assert result.failed_checks == ()
    assert result.export_files
    problems = [f"not evaluated: no Stripe balance snapshot covers {day}; run up to now or use the roll-forward" for _, day in last_days]
    # dbt's warning says each problem of its rows once (currencies whose ledgers end the same day
    # share one); its rows name the currencies. The GX suites say the same (tests/orchestration/test_quality_checks.py).
    assert dict(result.warnings)["snapshot_covers_ledger"] == "; ".join(dict.fromkeys(problems))


def test_the_roll_forward_proof_still_runs_and_passes(closed_before_now):
    _, result = closed_before_now
    assert "assert_stripe_balance_rolls_forward" in result.passed_checks
    assert "clearing_equals_stripe_balance" in result.passed_checks


def test_stripe_close_run_prints_the_warning(closed_before_now, capsys):
    _, result = closed_before_now
    _print_result(result)
    out = capsys.readouterr().out
    [warning] = [line for line in out.splitlines() if line.startswith("Warning: snapshot_covers_ledger: ")]
    assert warning.startswith("Warning: snapshot_covers_ledger: not evaluated: no Stripe balance snapshot covers 2026-10-")
    assert warning.endswith("; run up to now or use the roll-forward")
