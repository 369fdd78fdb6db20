"""A whole close of an account that settles in USD and KWD (3 decimals), as Dagster runs: NetSuite
(2 decimals) cannot carry the KWD entries, and the close still succeeds.

The NetSuite file holds every USD entry, each KWD entry is an export exception naming entity,
currency, target and reason (asset metadata, manifest, exceptions file, the run's result), the
warning check `every_entry_exported` fails without blocking anything, and SAP, which keeps 3
decimals for KWD, gets every entry.
"""

import csv
import dataclasses
import json
from datetime import timedelta

import dagster as dg
import duckdb
import pytest

from exporters.period_export import file_name
from ledger.config import CloseSettings
from orchestration.close_run import run_close
from sandbox.bank_deposits import plan_deposits
from sandbox.ground_truth import ground_truth
from sandbox.merchant import WorldSpec, simulate
from sandbox.outputs import write_sandbox_files
from sandbox.stripe_api import SandboxStripeServer
from tests.conftest import API_KEY, CLOSE_VARIABLES

pytestmark = pytest.mark.e2e

PERIOD = "2026-10"
KWD_WORLD = WorldSpec(seed=11, days=12, transactions_per_day=30, currencies=("usd", "kwd"))
REASON = "KWD has 3 decimals and NetSuite keeps 2 (NETSUITE_CURRENCY_POLICY kwd:refuse)"


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    world = simulate(KWD_WORLD)
    workdir = tmp_path_factory.mktemp("kwd-close")
    bank_files = write_sandbox_files(world, workdir / "sandbox")
    instance = dg.DagsterInstance.ephemeral()
    with pytest.MonkeyPatch.context() as patch, SandboxStripeServer(world, API_KEY) as server:
        for name in CLOSE_VARIABLES:
            patch.delenv(name, raising=False)
        settings = dataclasses.replace(
            CloseSettings.from_env({}), source="sandbox", warehouse=workdir / "warehouse.duckdb", export_dir=workdir / "exports",
            stripe_api_key=API_KEY, stripe_api_base=server.url, bank_inbox=str(bank_files.bai2.parent),
        )
        result = run_close(settings, KWD_WORLD.start, KWD_WORLD.start + timedelta(days=KWD_WORLD.days - 1), instance)
    return world, settings, instance, result


def kwd_entries(warehouse) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return [row[0] for row in connection.execute(
            "select distinct external_id from main.fct_journal_lines_translated where currency = 'kwd' and period = ? order by 1", [PERIOD],
        ).fetchall()]


def test_the_close_succeeds_and_names_every_kwd_entry_netsuite_cannot_carry(closed):
    world, settings, _, result = closed
    truth = ground_truth(world, plan_deposits(world))
    assert {(row.currency, row.account_code): row.balance_minor for row in result.trial_balance} == truth.gl_balances
    expected = kwd_entries(settings.warehouse)
    assert len(expected) >= KWD_WORLD.days
    assert sorted(exception["external_id"] for exception in result.export_exceptions) == expected
    assert {(e["target"], e["entity_id"], e["period"], e["currency"], e["action"], e["reason"]) for e in result.export_exceptions} == {
        ("netsuite", "main", PERIOD, "KWD", "refused", REASON)}
    # Every proof passed; the export exceptions are a warning, which blocks nothing.
    assert result.failed_checks == ()
    assert "every_entry_exported" in dict(result.warnings)


def test_the_netsuite_file_holds_every_usd_entry_and_sap_every_entry(closed):
    _, settings, _, _ = closed
    folder = settings.export_dir / "main" / PERIOD
    with (folder / file_name("netsuite_journal_entries.csv", "main", PERIOD)).open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        usd_entries = {row[0] for row in connection.execute(
            "select external_id from main.fct_journal_lines_translated where currency = 'usd' and period = ? "
            "union select external_id from main.fct_fx_revaluation_lines where period = ?", [PERIOD, PERIOD],
        ).fetchall()}
    assert {row["Currency"] for row in rows} == {"USD"}
    assert {row["External ID"] for row in rows} == usd_entries
    xml = (folder / file_name("sap_journal_entry_bulk_create_request.xml", "main", PERIOD)).read_text()
    assert all(entry[:25] in xml for entry in kwd_entries(settings.warehouse))

    manifest = json.loads((folder / "manifest.json").read_text())
    assert list(manifest["exceptions"]) == ["netsuite"]
    assert sorted(e["external_id"] for e in manifest["exceptions"]["netsuite"]) == kwd_entries(settings.warehouse)
    with (folder / file_name("netsuite_export_exceptions.csv", "main", PERIOD)).open(newline="") as stream:
        listed = list(csv.DictReader(stream))
    assert sorted(row["external_id"] for row in listed) == kwd_entries(settings.warehouse)
    assert {(row["target"], row["entity_id"], row["currency"], row["reason"]) for row in listed} == {("netsuite", "main", "KWD", REASON)}


def test_the_netsuite_asset_succeeds_with_its_exceptions_in_metadata_and_a_warning_check(closed):
    _, settings, instance, _ = closed
    event = instance.get_latest_materialization_event(dg.AssetKey("netsuite_journal_csv"))
    metadata = event.asset_materialization.metadata
    assert metadata["export_exceptions_count"].value == len(kwd_entries(settings.warehouse))
    assert {(e["entity_id"], e["currency"], e["target"], e["reason"]) for e in metadata["export_exceptions"].value} == {
        ("main", "KWD", "netsuite", REASON)}
    keys = [dg.AssetCheckKey(dg.AssetKey(asset), "every_entry_exported") for asset in ("netsuite_journal_csv", "sap_journal_files")]
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    netsuite_check, sap_check = (records[key].event.dagster_event.event_specific_data for key in keys)
    assert (netsuite_check.passed, netsuite_check.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert netsuite_check.metadata["refused_entries"].value == len(kwd_entries(settings.warehouse))
    assert sap_check.passed
