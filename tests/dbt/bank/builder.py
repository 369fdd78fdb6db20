"""Building a matched warehouse: the small sandbox world ingested (stripe SDK over HTTP), statement files loaded, dbt built."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

from ledger import warehouse
from ledger.sources.bank.inbox import FolderInbox, load_inbox
from ledger.sources.stripe_api import StripeApiSettings, Window, ingest
from orchestration.bench_match import dbt_build_bank_models
from sandbox.bank_deposits import PayoutDeposit, plan_deposits
from sandbox.merchant import World
from sandbox.stripe_api import SandboxStripeServer
from tests.conftest import API_KEY


@dataclass(frozen=True)
class MatchedWarehouse:
    path: Path
    deposits: tuple[PayoutDeposit, ...]

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.path), read_only=True) as connection:
            return connection.execute(sql).fetchall()


def ingest_world(world: World, warehouse_file: Path) -> None:
    spec = world.spec
    midnight = datetime.min.time().replace(tzinfo=timezone.utc)
    window = Window(datetime.combine(spec.start, midnight), datetime.combine(spec.start + timedelta(days=spec.days), midnight))
    with SandboxStripeServer(world, API_KEY) as server, warehouse.connect(warehouse_file) as connection:
        ingest(StripeApiSettings(api_key=API_KEY, api_base=server.url), connection, window)


def build_matched_warehouse(world: World, workdir: Path, inbox: Path) -> MatchedWarehouse:
    """Ingest the world, load the inbox's statement files, `dbt build` the bank models and their tests."""
    warehouse_file = workdir / "warehouse.duckdb"
    ingest_world(world, warehouse_file)
    with warehouse.connect(warehouse_file) as connection:
        load_inbox(connection, FolderInbox(inbox))
    result = dbt_build_bank_models(warehouse_file)
    assert result.returncode == 0, result.stdout + result.stderr
    return MatchedWarehouse(warehouse_file, tuple(plan_deposits(world)))
