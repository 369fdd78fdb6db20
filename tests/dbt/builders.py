"""Hand-made Stripe records landed in a real DuckDB warehouse, and a real `dbt build` over them.

Records go through `ledger.sources.stripe_records`, the same builders the API ingestion uses, so the
raw tables have exactly the shape production gives them.
"""

from __future__ import annotations

import functools
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ledger import warehouse
from ledger.dbt_build import build_ledger, target_dir
from ledger.dbt_project import DBT_PROJECT_DIR
from ledger.sources import stripe_records
from tests.run_wide_builds import built_once

if TYPE_CHECKING:
    from sandbox.merchant import World

# When a balance snapshot lands without its own `as_of`: after every hand-made record's `created`.
SNAPSHOT_AS_OF = datetime(2026, 11, 20)


def ts(day: str, hour: int = 12) -> int:
    """Unix seconds of `day` (YYYY-MM-DD) at `hour` UTC."""
    return int(datetime.fromisoformat(day).replace(hour=hour, tzinfo=timezone.utc).timestamp())


def transaction(
    id: str, type: str, category: str | None, amount: int, fee: int = 0, currency: str = "usd",
    created: int | None = None, fee_details: list[dict] | None = None,
) -> dict:
    """A Stripe balance transaction object; `fee_details` default to one stripe_fee of `fee`."""
    created = created or ts("2026-10-05")
    if fee_details is None:
        fee_details = [{"amount": fee, "application": None, "currency": currency, "description": "Stripe processing fees", "type": "stripe_fee"}] if fee else []
    return {
        "id": id, "object": "balance_transaction", "amount": amount, "fee": fee, "net": amount - fee,
        "currency": currency, "type": type, "reporting_category": category, "created": created,
        "available_on": created, "status": "available", "description": None, "source": None,
        "exchange_rate": None, "fee_details": fee_details, "balance_type": "payments",
    }


def payout(id: str, amount: int, status: str, arrival: str, balance_transaction: str, currency: str = "usd",
           created: int | None = None, failure_balance_transaction: str | None = None) -> dict:
    return {
        "id": id, "object": "payout", "amount": amount, "currency": currency, "status": status,
        "created": created or ts(arrival, 6) - 2 * 86_400, "arrival_date": ts(arrival, 0), "automatic": True,
        "method": "standard", "type": "bank_account", "balance_transaction": balance_transaction,
        "failure_balance_transaction": failure_balance_transaction,
        "reconciliation_status": "completed" if status in ("paid", "failed") else "in_progress",
        "trace_id": {"status": "supported", "value": f"TRACE-{id}"}, "destination": "ba_test",
    }


def land(path: Path, transactions: list[dict] = (), payouts: list[dict] = (), links: list[tuple[str, str]] = (),
         balance: dict | None = None, as_of: datetime | None = None) -> None:
    """Upsert records into the raw tables of the warehouse at `path`, stamped with the time of the
    call as a real load is (a windowed build finds what landed since the last build by it)."""
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    with warehouse.connect(path) as connection:
        if transactions:
            rows, fee_details = stripe_records.balance_transaction_rows(list(transactions), "api", loaded_at)
            warehouse.upsert_tables(connection, {"stripe_balance_transactions": rows, "stripe_fee_details": fee_details})
        if payouts:
            warehouse.upsert(connection, "stripe_payouts", stripe_records.payout_rows(list(payouts), "api", loaded_at))
        if links:
            warehouse.upsert(connection, "stripe_payout_transactions", stripe_records.payout_transaction_rows(list(links), "api", loaded_at))
        if balance is not None:
            warehouse.upsert(connection, "stripe_balance_snapshots", stripe_records.balance_snapshot_rows(balance, as_of or SNAPSHOT_AS_OF, "api", loaded_at))


def build(path: Path, granularity: str = "daily", project_dir: Path = DBT_PROJECT_DIR) -> dict:
    """A real `dbt build`; returns run_results.json (LedgerBuildFailed propagates)."""
    build_ledger(path, {"CLOSE_JOURNAL_GRANULARITY": granularity}, project_dir=project_dir)
    return json.loads((target_dir(path) / "run_results.json").read_text())


def project_copy(destination: Path) -> Path:
    """A copy of the dbt project to edit (a seed, a model) without touching the real one."""
    shutil.copytree(DBT_PROJECT_DIR, destination, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    return destination


def query(path: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(sql, parameters or []).fetchall()


def statuses(run_results: dict) -> dict[str, str]:
    """Node name (last part of the unique id) -> status."""
    return {r["unique_id"].split(".")[2]: r["status"] for r in run_results["results"]}


@functools.cache
def small_world_ledger() -> Path:
    """The conftest's small world landed raw and built once per test run (tests/run_wide_builds.py):
    every worker reads the same file.

    Read-only: tests copy the file (`copy_ledger`) before changing anything.
    """
    return built_once("small-world-ledger", _land_and_build_small_world) / "warehouse.duckdb"


def _land_and_build_small_world(folder: Path) -> None:
    from sandbox.merchant import simulate
    from sandbox.raw_tables import load_world
    from tests.conftest import SMALL_WORLD

    path = folder / "warehouse.duckdb"
    with warehouse.connect(path) as connection:
        load_world(connection, simulate(SMALL_WORLD))
    build(path)


# The charge metadata key rpt_payout_reconciliation turns into a column, as Stripe's report does.
FOUR_CURRENCY_METADATA_KEYS = {"CLOSE_PAYOUT_RECONCILIATION_METADATA_KEYS": "order_id"}


@functools.cache
def four_currency_sales_ledger() -> tuple["World", Path]:
    """A world selling in USD, EUR, JPY and KWD (invoices, credit notes, tax, discounts, shipping,
    Connect transfers), ingested with its source objects by the real SDK from the sandbox API and
    built once per test run (tests/run_wide_builds.py): the world and its warehouse. Tests copy the
    file (`copy_ledger`) before changing it."""
    from sandbox.merchant import simulate
    from tests.conftest import FOUR_CURRENCIES

    return simulate(FOUR_CURRENCIES), built_once("four-currency-sales", _ingest_and_build_four_currencies) / "warehouse.duckdb"


def _ingest_and_build_four_currencies(folder: Path) -> None:
    from ledger.sources.stripe_api import StripeApiSettings, Window, ingest
    from sandbox.merchant import simulate
    from sandbox.stripe_api import SandboxStripeServer
    from tests.conftest import API_KEY, FOUR_CURRENCIES

    world = simulate(FOUR_CURRENCIES)
    path = folder / "warehouse.duckdb"
    window = Window(datetime.fromtimestamp(world.spec.start_ts, tz=timezone.utc), datetime.fromtimestamp(world.as_of, tz=timezone.utc))
    with SandboxStripeServer(world, API_KEY) as server, warehouse.connect(path) as connection:
        ingest(StripeApiSettings(api_key=API_KEY, api_base=server.url, max_requests_per_second=500), connection, window, now=window.end)
    build_ledger(path, FOUR_CURRENCY_METADATA_KEYS)


def copy_ledger(source: Path, directory: Path) -> Path:
    """A private copy of a built warehouse, named as dbt's compiled SQL expects (`warehouse`)."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, directory / "warehouse.duckdb")
    return directory / "warehouse.duckdb"


def compiled_test_sql(built: Path, test_name: str) -> str:
    """The SQL dbt ran for a singular test on the ledger at `built`."""
    [path] = (target_dir(built) / "compiled").rglob(f"{test_name}.sql")
    return path.read_text()
