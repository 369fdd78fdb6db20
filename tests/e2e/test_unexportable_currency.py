"""A whole close of an account that settles in USD and KWD (3 decimals), as Dagster runs: NetSuite
(2 decimals) cannot carry the KWD entries, and the close still succeeds.

The NetSuite file holds every USD entry, each KWD entry is an export exception naming entity,
currency, target and reason (asset metadata, manifest, exceptions file, the run's result), the
warning check `every_entry_exported` fails without blocking anything, and SAP, which keeps 3
decimals for KWD, gets every entry. `stripe-close run` prints the refused entries and `stripe-close
export` exports the close again as it did, or posts them in USD under the functional policy.

The tests read the suite's close of the KWD world (tests/conftest.py: closed_kwd_world), whose
Dagster instance is on disk (.close/dagster, as the CLI keeps it) so that the `stripe-close export`
of a copy finds the proofs it recorded.
"""

import csv
import json
import shutil

import dagster as dg
import duckdb
import pytest

from exporters.period_export import file_name
from orchestration.cli import _print_result
from sandbox.bank_deposits import plan_deposits
from sandbox.ground_truth import ground_truth
from tests.conftest import KWD_WORLD
from tests.e2e.test_cli import run_cli

pytestmark = pytest.mark.e2e

PERIOD = "2026-10"
REASON = "KWD has 3 decimals and NetSuite keeps 2 (NETSUITE_CURRENCY_POLICY kwd:refuse)"


@pytest.fixture
def closed(kwd_world, closed_kwd_world):
    return kwd_world, closed_kwd_world.settings, closed_kwd_world.instance, closed_kwd_world.result


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


def test_the_cli_lists_the_refused_entries_and_posts_them_in_usd_under_the_functional_policy(closed, tmp_path, capsys):
    """NetSuite keeps 2 decimals: the KWD entries are listed (as `stripe-close run` prints them), the USD
    ones exported, and the close succeeds."""
    _, settings, _, result = closed
    _print_result(result)
    out = capsys.readouterr().out
    refused = [line for line in out.splitlines() if line.startswith(f"  netsuite main {PERIOD} STRIPE-main-")]
    assert len(refused) >= KWD_WORLD.days
    assert all(line.endswith(REASON) and "-KWD (KWD debit " in line for line in refused)
    assert f"Exported with exceptions: {len(refused)} entries not exported" in out

    # The export command says the same, and with the functional policy posts them in USD instead.
    copy = tmp_path / "close"
    shutil.copytree(settings.export_dir.parent, copy)
    export = run_cli("export", "--period", PERIOD, cwd=copy)
    assert export.returncode == 0, export.stderr[-3000:]
    assert f"Exported with exceptions: {len(refused)} entries not exported" in export.stdout
    folder = copy / "exports" / "main" / PERIOD
    assert f"  {folder / 'netsuite_journal_entries_main_2026-10.csv'}" in export.stdout
    assert f"  {folder / 'netsuite_export_exceptions_main_2026-10.csv'}" in export.stdout
    functional = run_cli("export", "--period", PERIOD, cwd=copy, env={"NETSUITE_CURRENCY_POLICY": "kwd:functional"})
    assert functional.returncode == 0, functional.stderr[-3000:]
    assert "with exceptions" not in functional.stdout
    assert functional.stdout.count(": posted_in_functional_currency: KWD has 3 decimals") == len(refused)
    with (folder / "netsuite_export_exceptions_main_2026-10.csv").open(newline="") as stream:
        assert [row["action"] for row in csv.DictReader(stream)] == ["posted_in_functional_currency"] * len(refused)
