"""Partitioned closes on the sandbox: `stripe-close backfill` of a month, and the same ledger from
partitioned runs (the month's days, then one day again) as from an unpartitioned close.

The CLI backfills February into one warehouse and instance; an unpartitioned ingestion and a full
dbt build of the same data go into another. One month, not two, and the shortest (28 days, not
31): a range run records every asset once per day, and those events are most of a backfill's time.
"""

import csv
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_dbt import DbtCliResource

from exporters import netsuite
from exporters.journal import FUNCTIONAL_JOURNAL, net_by_currency_and_account
from ledger.dbt_build import build_ledger
from ledger.dbt_project import DBT_PROJECT_DIR, dbt_executable
from orchestration.defs.ingest.assets import stripe_ingest
from orchestration.defs.resources import StripeApiResource, WarehouseResource
from orchestration.defs.transform.assets import ledger_dbt_models
from orchestration.defs.transform.project import dbt_project
from sandbox.bank_deposits import plan_deposits
from sandbox.ground_truth import ground_truth
from sandbox.merchant import WorldSpec, simulate
from sandbox.stripe_api import SandboxStripeServer
from tests.conftest import API_KEY

pytestmark = pytest.mark.e2e

FEBRUARY = WorldSpec(seed=23, start=date(2026, 2, 10), days=10, transactions_per_day=12)
LEDGER_TABLES = ("main.fct_journal_lines", "main.fct_journal_line_sources", "main.rpt_trial_balance", "main.rpt_stripe_balance_rollforward")


@pytest.fixture(scope="module")
def world():
    return simulate(FEBRUARY)


@pytest.fixture(scope="module")
def stripe_api(world):
    with SandboxStripeServer(world, API_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def backfilled(stripe_api, tmp_path_factory):
    """`stripe-close backfill --from 2026-02 --to 2026-02` against the sandbox, on a fresh instance."""
    workdir = tmp_path_factory.mktemp("backfill")
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("CLOSE_", "DAGSTER_", "STRIPE_"))}
    environment |= {
        "CLOSE_SOURCE": "sandbox", "STRIPE_API_BASE": stripe_api.url, "STRIPE_API_KEY": API_KEY,
        "CLOSE_WAREHOUSE": str(workdir / "warehouse.duckdb"), "CLOSE_EXPORT_DIR": str(workdir / "exports"),
        "DAGSTER_HOME": str(workdir / "dagster"),
    }
    completed = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "backfill", "--from", "2026-02", "--to", "2026-02"],
        env=environment, capture_output=True, text=True, timeout=900, cwd=workdir,
    )
    return workdir, completed


def snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return {table: connection.execute(f"select * from {table} order by all").fetchall() for table in LEDGER_TABLES}


def trial_balance(warehouse: Path) -> dict[tuple[str, str], int]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = connection.execute("select currency, account_code, balance_minor from main.rpt_trial_balance where balance_minor <> 0").fetchall()
    return {(currency, account): balance for currency, account, balance in rows}


def test_the_backfill_runs_the_days_then_the_months_and_prints_them(backfilled):
    workdir, completed = backfilled
    assert completed.returncode == 0, completed.stderr[-3000:]
    ledger_line, *rest = [line for line in completed.stdout.splitlines() if line.startswith(("ledger_close_job", "period_export_job"))]
    assert ledger_line.startswith("ledger_close_job 2026-02-01..2026-02-28: run ") and " succeeded; " in ledger_line
    [export_line] = rest
    assert export_line.startswith("period_export_job 2026-02..2026-02: run ") and " succeeded; 5 assets materialized" in export_line
    passed, total = ledger_line.split("succeeded; ")[1].split(", ")[1].split(" checks")[0].split(" of ")
    assert passed == total and int(total) > 20
    assert f"  netsuite_journal_csv: {workdir / 'exports' / 'main' / '2026-02' / 'netsuite_journal_entries_main_2026-02.csv'}" in completed.stdout


def test_the_instance_records_every_day_and_month_of_the_backfill(backfilled):
    workdir, completed = backfilled
    assert completed.returncode == 0, completed.stderr[-3000:]
    os.environ["DAGSTER_HOME"], previous = str(workdir / "dagster"), os.environ.get("DAGSTER_HOME")
    try:
        with dg.DagsterInstance.get() as instance:
            days = instance.get_materialized_partitions(dg.AssetKey("fct_journal_lines"))
            months = instance.get_materialized_partitions(dg.AssetKey("netsuite_journal_csv"))
            raw = instance.get_materialized_partitions(dg.AssetKey(["stripe", "stripe_balance_transactions"]))
    finally:
        os.environ.pop("DAGSTER_HOME") if previous is None else os.environ.update(DAGSTER_HOME=previous)
    assert days == raw == {date(2026, 2, day).isoformat() for day in range(1, 29)}
    assert months == {"2026-02"}


def test_the_ledger_run_evaluates_the_standalone_proofs_that_the_exports_require(backfilled):
    from orchestration.defs.export.guard import blocking_checks, failing_blocking_checks

    workdir, completed = backfilled
    assert completed.returncode == 0, completed.stderr[-3000:]
    [ledger_run] = [line.split(": run ")[1].split()[0] for line in completed.stdout.splitlines() if line.startswith("ledger_close_job")]
    os.environ["DAGSTER_HOME"], previous = str(workdir / "dagster"), os.environ.get("DAGSTER_HOME")
    try:
        with dg.DagsterInstance.get() as instance:
            records = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(blocking_checks()))
            failing = failing_blocking_checks(instance)
    finally:
        os.environ.pop("DAGSTER_HOME") if previous is None else os.environ.update(DAGSTER_HOME=previous)
    standalone = {key.name: record for key, record in records.items() if key.name.startswith("gx_") or key.name == "accounting_configuration_is_valid"}
    assert len(standalone) == 8
    assert {(record.run_id, record.status.value) for record in standalone.values()} == {(ledger_run, "SUCCEEDED")}
    assert failing == []


def test_the_month_is_exported_and_equals_its_ledger(backfilled, world):
    workdir, completed = backfilled
    assert completed.returncode == 0, completed.stderr[-3000:]
    warehouse = workdir / "warehouse.duckdb"
    assert trial_balance(warehouse) == ground_truth(world, plan_deposits(world)).gl_balances
    accounts = {row["netsuite_account"]: row["account_code"] for row in _gl_accounts()}
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        # The journal in its transaction currencies, plus the month-end revaluation (in USD).
        ledger = connection.execute(
            f"select currency, account_code, sum(amount_minor)::bigint from ({FUNCTIONAL_JOURNAL}) where period = '2026-02' group by all"
        ).fetchall()
    exported = netsuite.read_lines(workdir / "exports" / "main" / "2026-02" / "netsuite_journal_entries_main_2026-02.csv", accounts)
    assert ledger and net_by_currency_and_account(exported) == {(c, a): amount for c, a, amount in ledger if amount}


def _gl_accounts() -> list[dict[str, str]]:
    with (DBT_PROJECT_DIR / "seeds" / "gl_accounts.csv").open(newline="") as stream:
        return list(csv.DictReader(stream))


def test_partitioned_runs_give_the_same_ledger_as_an_unpartitioned_close(backfilled, world, stripe_api, tmp_path, monkeypatch):
    """The backfill's range of days, then the world's last day again (as the continuous close re-runs
    a day), give the ledger that one unpartitioned ingestion and a full `dbt build` give, row for row."""
    workdir, completed = backfilled
    assert completed.returncode == 0, completed.stderr[-3000:]
    monkeypatch.setenv("CLOSE_SOURCE", "sandbox")
    last_day = FEBRUARY.start + timedelta(days=FEBRUARY.days - 1)

    def materialize(warehouse: Path, assets: list, **selection) -> str:
        monkeypatch.setenv("CLOSE_WAREHOUSE", str(warehouse))  # dbt's profile reads it
        resources = {
            "warehouse": WarehouseResource(path=str(warehouse)), "stripe": StripeApiResource(api_key=API_KEY, api_base=stripe_api.url),
            "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
        }
        result = dg.materialize(assets, resources=resources, instance=dg.DagsterInstance.ephemeral(), **selection)
        assert result.success
        return result.run_id

    partitioned = workdir / "warehouse.duckdb"
    run_id = materialize(partitioned, [stripe_ingest, ledger_dbt_models], partition_key=last_day.isoformat())
    # dbt's folder for the run (compiled SQL, manifest, partial parse) is removed after its success.
    assert list((DBT_PROJECT_DIR / "target").glob(f"ledger_dbt_models-{run_id[:7]}-*")) == []
    unpartitioned = tmp_path / "unpartitioned.duckdb"
    window = {"start_date": FEBRUARY.start.isoformat(), "end_date": last_day.isoformat()}
    materialize(unpartitioned, [stripe_ingest], run_config={"ops": {"stripe_ingest": {"config": window}}})
    build_ledger(unpartitioned)
    assert snapshot(partitioned) == snapshot(unpartitioned)
    assert trial_balance(unpartitioned) == ground_truth(world, plan_deposits(world)).gl_balances
