"""A warehouse with the small sandbox world ingested (stripe SDK over HTTP) and its bank files loaded."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from ledger import warehouse
from ledger.dbt_project import DBT_PROJECT_DIR, dbt_executable
from ledger.sources.bank.inbox import FolderInbox, load_inbox
from ledger.sources.stripe_api import StripeApiSettings, Window, ingest
from sandbox.bank_deposits import PayoutDeposit, plan_deposits
from sandbox.merchant import World
from sandbox.outputs import write_sandbox_files
from sandbox.stripe_api import SandboxStripeServer
from tests.conftest import API_KEY

BANK_MODELS = "+fct_payout_bank_matches +fct_payout_bank_returns +fct_reconciliation_exceptions"


@dataclass(frozen=True)
class MatchedWarehouse:
    path: Path
    deposits: tuple[PayoutDeposit, ...]

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.path), read_only=True) as connection:
            return connection.execute(sql).fetchall()


def dbt_build(warehouse_file: Path, select: str = BANK_MODELS, *extra: str) -> subprocess.CompletedProcess:
    """`dbt build` of the bank models and their tests (with the seeds and staging they need)."""
    return subprocess.run(
        [dbt_executable(), "build", "--quiet", "--select", select, "--indirect-selection", "cautious", *extra,
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
        env={**os.environ, "CLOSE_WAREHOUSE": str(warehouse_file)}, capture_output=True, text=True, check=False,
    )


def ingest_world(world: World, warehouse_file: Path) -> None:
    spec = world.spec
    midnight = datetime.min.time().replace(tzinfo=timezone.utc)
    window = Window(datetime.combine(spec.start, midnight), datetime.combine(spec.start + timedelta(days=spec.days), midnight))
    with SandboxStripeServer(world, API_KEY) as server, warehouse.connect(warehouse_file) as connection:
        ingest(StripeApiSettings(api_key=API_KEY, api_base=server.url), connection, window)


@pytest.fixture(scope="module")
def matched_world(small_world: World, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., MatchedWarehouse]:
    """Build once per module: ingest, load the sandbox's BAI2 statement, dbt build the bank models."""
    workdir = tmp_path_factory.mktemp("bank-matching")
    warehouse_file = workdir / "warehouse.duckdb"
    ingest_world(small_world, warehouse_file)
    files = write_sandbox_files(small_world, workdir / "sandbox")
    inbox = workdir / "inbox"
    inbox.mkdir()
    (inbox / files.bai2.name).write_bytes(files.bai2.read_bytes())
    (inbox / files.camt053.name).write_bytes(files.camt053.read_bytes())
    with warehouse.connect(warehouse_file) as connection:
        load_inbox(connection, FolderInbox(inbox))
    result = dbt_build(warehouse_file)
    assert result.returncode == 0, result.stdout + result.stderr
    return MatchedWarehouse(warehouse_file, tuple(plan_deposits(small_world)))
