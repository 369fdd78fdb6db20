"""Two Stripe accounts of a Connect platform, two entities: the small world's own account (entity
`main`, NetSuite subsidiary 1, SAP company code 1000) and a European account (entity `europe`,
subsidiary 7, company code 2000, its own revenue account), ingested over the real SDK through the
sandbox (the second with the `Stripe-Account` header) and built by real dbt, once per test process. Each account's payouts arrive on one bank
statement (BAI2, loaded through the bank inbox) in bank accounts of their own, with the sandbox's
noise, lines that match no payout among it.

Tests copy the file (`copy_ledger`) before changing anything.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ledger import warehouse
from ledger.sources.bank.inbox import load_inbox, open_inbox
from ledger.sources.stripe_api import IngestStats, StripeApiSettings, ingest, plan_window
from sandbox.bank_deposits import bank_statements, plan_deposits
from sandbox.bank_statements import write_bai2
from sandbox.merchant import OWN_ACCOUNT_ID, World, WorldSpec, simulate
from sandbox.stripe_api import SandboxStripeServer
from tests.conftest import API_KEY, SMALL_WORLD
from tests.dbt.builders import build, project_copy

EUROPE = "acct_1EuropeGmbH"
# A smaller second merchant over the same days, in two currencies.
EUROPE_WORLD = WorldSpec(seed=29, start=SMALL_WORLD.start, days=SMALL_WORLD.days, transactions_per_day=8, currencies=("usd", "eur"))
ACCOUNTS = {"main": OWN_ACCOUNT_ID, "europe": EUROPE}


@dataclass(frozen=True)
class TwoEntities:
    warehouse: Path
    project: Path
    stats: IngestStats
    worlds: dict[str, World]  # by entity id


def at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


@functools.cache
def two_entity_ledger() -> TwoEntities:
    """Both accounts ingested and built with a project whose seeds name the second entity and give
    it its own revenue account for charges (4090)."""
    workdir = Path(tempfile.mkdtemp(prefix="two-entities-"))
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    project = project_copy(workdir / "dbt_project")
    with (project / "seeds" / "entities.csv").open("a") as entities:
        entities.write(f"europe,{EUROPE},ACME Robotics GmbH,7,2000,usd\n")
    with (project / "seeds" / "gl_accounts.csv").open("a") as accounts:
        accounts.write("4090,Revenue Europe,income,4090 Revenue Europe,0000409000\n")
    with (project / "seeds" / "gl_mapping_rules.csv").open("a") as rules:
        rules.write("reporting_category,charge,,europe,4090,,Charges of the European entity\n")
    # What the sales split books (charges with their invoices or categories) goes to the same account.
    with (project / "seeds" / "gl_sales_policy.csv").open("a") as policies:
        policies.write("europe,contra_revenue,4050,4200,4090,2000,revenue_category,4090,The European entity's sales\n")
    worlds = {"main": simulate(SMALL_WORLD), "europe": simulate(EUROPE_WORLD)}
    path = workdir / "warehouse.duckdb"
    with SandboxStripeServer(worlds["main"], API_KEY, connected={EUROPE: worlds["europe"]}) as server, warehouse.connect(path) as connection:
        settings = StripeApiSettings(api_key=API_KEY, api_base=server.url, accounts=(OWN_ACCOUNT_ID, EUROPE))
        window = plan_window(connection, settings, at(worlds["main"].spec.start_ts), None, at(worlds["main"].as_of), first_run_days=2)
        stats = ingest(settings, connection, window)
        load_inbox(connection, open_inbox(str(write_bank_statements(worlds, workdir / "bank"))))
    build(path, project_dir=project)
    return TwoEntities(path, project, stats, worlds)


def write_bank_statements(worlds: dict[str, World], folder: Path) -> Path:
    """One BAI2 file with both entities' payouts, each entity in bank accounts of its own."""
    folder.mkdir()
    statements = [
        dataclasses.replace(statement, account_id=f"{statement.account_id}-{entity.upper()}")
        for entity, world in worlds.items()
        for statement in bank_statements(world, plan_deposits(world))
    ]
    created_at = at(worlds["main"].as_of).replace(hour=6)
    write_bai2(statements, folder / "bank_statement.bai2", sender_id="121000248", receiver_id="ACMEROBOT", file_id="2", created_at=created_at)
    return folder
