"""One real close of the small world with every export and push asset, then the CLI and the guard.

Sandbox Stripe API -> close (dbt, Dagster) -> NetSuite CSV, SAP files, accountant journal on disk;
pushes to the sandbox NetSuite account (TBA, SuiteQL read-back) and SAP system, all over HTTP.
"""

import csv
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import boto3
import dagster as dg
import duckdb
import pytest
import requests

from exporters import generic, manifest, netsuite, sap_soap, sap_template, xlsx
from exporters.journal import FUNCTIONAL_JOURNAL, net_by_currency_and_account
from exporters.period_export import file_name
from ledger.config import CloseSettings
from ledger.dbt_project import DBT_PROJECT_DIR
from orchestration.close_run import run_close
from sandbox.erp_sandboxes import netsuite_references
from sandbox.netsuite_server import SandboxNetSuiteServer, TokenBasedCredentials
from sandbox.sap_server import SandboxSapServer
from sandbox.stripe_api import SandboxStripeServer
from tests.conftest import API_KEY, CLOSE_VARIABLES, SANDBOX_REQUESTS_PER_SECOND
from tests.exporters.conftest import S3_ENVIRONMENT

pytestmark = pytest.mark.e2e

PERIOD = "2026-10"
STRIPE_CLOSE = str(Path(sys.executable).with_name("stripe-close"))
NETSUITE_SECRETS = {"NETSUITE_CONSUMER_SECRET": "ns-consumer-secret-e2e", "NETSUITE_TOKEN_SECRET": "ns-token-secret-e2e"}
SAP_PASSWORD = "sap-password-e2e"


def named(name: str) -> str:
    """An export file's name for the main entity's period (tests/exporters/test_entity_exports.py spells them out)."""
    return file_name(name, "main", PERIOD)


@pytest.fixture(scope="module")
def closed(small_world, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("export-close")
    accounts = netsuite_references(workdir / "netsuite_references.csv")
    netsuite_server = SandboxNetSuiteServer(
        "7654321_SB1", TokenBasedCredentials("ck-e2e", NETSUITE_SECRETS["NETSUITE_CONSUMER_SECRET"], "tid-e2e", NETSUITE_SECRETS["NETSUITE_TOKEN_SECRET"]),
        currency_ids={"1", "2", "3"}, account_ids=set(accounts.values()), latency_s=0,
    )
    # The main entity's company code in seeds/entities.csv.
    sap_server = SandboxSapServer("STRIPE_COMM", SAP_PASSWORD, company_codes={"1000"}, latency_s=0)
    with pytest.MonkeyPatch.context() as patch, SandboxStripeServer(small_world, API_KEY) as stripe, netsuite_server, sap_server:
        environment = {
            "NETSUITE_ACCOUNT_ID": "7654321-sb1", "NETSUITE_REST_URL": netsuite_server.url, "NETSUITE_CONSUMER_KEY": "ck-e2e",
            "NETSUITE_TOKEN_ID": "tid-e2e", "NETSUITE_REFERENCES_FILE": str(workdir / "netsuite_references.csv"), "NETSUITE_VERIFY": "1",
            "SAP_URL": sap_server.url, "SAP_USER": "STRIPE_COMM", "SAP_PASSWORD": SAP_PASSWORD, **NETSUITE_SECRETS,
            "STRIPE_MAX_REQUESTS_PER_SECOND": SANDBOX_REQUESTS_PER_SECOND,
        }
        for name, value in environment.items():
            patch.setenv(name, value)
        for name in CLOSE_VARIABLES:
            patch.delenv(name, raising=False)  # restored after the module: run_close exports the close's settings
        settings = dataclasses.replace(
            CloseSettings.from_env({}), source="sandbox", warehouse=workdir / "warehouse.duckdb",
            export_dir=workdir / "exports", stripe_api_key=API_KEY, stripe_api_base=stripe.url,
        )
        instance = dg.DagsterInstance.ephemeral()
        spec = small_world.spec
        result = run_close(settings, spec.start, spec.start + timedelta(days=spec.days - 1), instance)
        yield dataclasses.make_dataclass("Closed", ["settings", "instance", "result", "netsuite", "sap", "environment"])(
            settings, instance, result, netsuite_server, sap_server, environment,
        )


def assets_named(definitions: dg.Definitions, *names: str) -> list:
    return [asset for asset in definitions.assets if {key.to_user_string() for key in asset.keys} <= set(names)]


def ledger_net(warehouse: Path, functional: bool = False, revaluations: bool = True) -> dict[tuple[str, str], int]:
    """What the period's exports must hold per currency and account: the journal in the transaction
    (settlement) currency plus the revaluations, or all of it in the functional currency."""
    currency, amount = ("functional_currency", "functional_amount_minor") if functional else ("currency", "amount_minor")
    sql = f"select {currency}, account_code, sum({amount})::bigint from main.fct_journal_lines_translated where period = ? group by all"
    if revaluations:
        sql += f" union all select functional_currency, account_code, sum(functional_amount_minor)::bigint from main.fct_fx_revaluation_lines where period = ? group by all"
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = connection.execute(f"select * from ({sql})", [PERIOD, PERIOD] if revaluations else [PERIOD]).fetchall()
    net: dict[tuple[str, str], int] = {}
    for row_currency, account, row_amount in rows:
        net[row_currency, account] = net.get((row_currency, account), 0) + row_amount
    return {key: value for key, value in net.items() if value}


def gl_accounts() -> dict[str, dict[str, str]]:
    with (DBT_PROJECT_DIR / "seeds" / "gl_accounts.csv").open(newline="") as stream:
        return {row["account_code"]: row for row in csv.DictReader(stream)}


def parse_file(path: Path):
    """Any export file parsed back into lines, with the parser of its format."""
    name = path.name.replace(f"_main_{PERIOD}", "")
    accounts = gl_accounts()
    sap_codes = {row["sap_gl_account"]: code for code, row in accounts.items()}
    if name == "netsuite_journal_entries.csv":
        return netsuite.read_lines(path, {row["netsuite_account"]: code for code, row in accounts.items()})
    if name == "sap_journal_entries_comma.csv":
        with path.open(newline="") as stream:
            return sap_template.read_journal_lines(list(csv.reader(stream)), sap_codes, ".")
    if name == "sap_journal_entries_semicolon.csv":
        with path.open(newline="") as stream:
            return sap_template.read_journal_lines(list(csv.reader(stream, delimiter=";")), sap_codes, ",")
    if name == "sap_journal_entries.xlsx":
        return sap_template.read_journal_lines([[("" if v is None else v) for v in row] for row in xlsx.read_rows(path, sap_template.SHEET)], sap_codes, ".")
    if path.suffix == ".xml":
        return sap_soap.read_lines(path.read_bytes(), sap_codes)
    if name == "journal.csv":
        with path.open(newline="") as stream:
            return generic._parse_journal([tuple(row) for row in list(csv.reader(stream))[1:]])
    if name == "journal_drilldown.csv":
        with path.open(newline="") as stream:
            return generic._parse_drilldown([tuple(row) for row in list(csv.reader(stream))[1:]])
    if name == "journal.xlsx":
        return generic._parse_journal(xlsx.read_rows(path, generic.JOURNAL_SHEET)[1:])
    raise AssertionError(f"unexpected export file {path}")


def test_every_export_file_parses_back_to_the_ledger_per_currency_and_account(closed):
    folder = closed.settings.export_dir / "main" / PERIOD
    names = sorted(path.name for path in folder.iterdir())
    assert names == sorted(["close_package", "manifest.json", *map(named, [
        "journal.csv", "journal.xlsx", "journal_drilldown.csv", "netsuite_journal_entries.csv",
        "sap_journal_entries.xlsx", "sap_journal_entries_comma.csv", "sap_journal_entries_semicolon.csv", "sap_journal_entry_bulk_create_request.xml",
    ])])
    expected = ledger_net(closed.settings.warehouse)
    expected_functional = ledger_net(closed.settings.warehouse, functional=True)
    assert {currency for currency, _ in expected} == {"usd", "eur", "jpy"}
    # The small world's EUR and JPY balances are revalued at the month end, in USD.
    assert {currency for currency, _ in expected_functional} == {"usd"} and ("usd", "7010") in expected_functional
    for name in names:
        if name in ("manifest.json", "close_package"):  # the package is proven in tests/exporters/close_package
            continue
        lines = parse_file(folder / name)
        if name == named("journal_drilldown.csv"):  # source records: revaluations have none, and no functional amounts
            assert net_by_currency_and_account(lines) == ledger_net(closed.settings.warehouse, revaluations=False), name
            continue
        assert net_by_currency_and_account(lines) == expected, name
        assert net_by_currency_and_account(lines, functional=True) == expected_functional, name
    drilldown = generic._parse_drilldown(xlsx.read_rows(folder / named("journal.xlsx"), generic.DRILLDOWN_SHEET)[1:])
    assert net_by_currency_and_account(drilldown) == ledger_net(closed.settings.warehouse, revaluations=False)


def test_the_manifest_describes_every_file_with_the_ledger_run(closed):
    folder = closed.settings.export_dir / "main" / PERIOD
    written = json.loads((folder / "manifest.json").read_text())
    with duckdb.connect(str(closed.settings.warehouse), read_only=True) as connection:
        debit, credit = connection.execute(
            "select sum(greatest(amount_minor, 0))::bigint, sum(greatest(-amount_minor, 0))::bigint from main.fct_journal_lines where period = ? and currency = 'jpy'", [PERIOD]
        ).fetchone()
    ledger_run = closed.instance.get_latest_materialization_event(dg.AssetKey("fct_journal_lines")).run_id
    assert len(written["files"]) == 8
    for entry in written["files"]:
        assert entry["sha256"] == manifest.sha256((folder / entry["name"]).read_bytes())
        assert entry["ledger_run"]["dagster_run_id"] == ledger_run
        assert entry["rows"] > 30
    journal = next(entry for entry in written["files"] if entry["name"] == named("journal.csv"))
    assert (journal["totals"]["JPY"]["debit_minor"], journal["totals"]["JPY"]["credit_minor"]) == (debit, credit)
    assert "." not in journal["totals"]["JPY"]["debit"]


def test_the_close_pushed_each_entry_exactly_once_and_a_second_push_changes_nothing(closed):
    with duckdb.connect(str(closed.settings.warehouse), read_only=True) as connection:
        # The close pushes its period, October (the reversals of October's revaluations are November's).
        [(entries,)] = connection.execute(f"select count(distinct external_id) from ({FUNCTIONAL_JOURNAL}) where period = ?", [PERIOD]).fetchall()
    assert closed.netsuite.store.entry_count() == entries
    assert (closed.netsuite.store.stats.created, closed.netsuite.store.stats.updated) == (entries, 0)
    assert len(closed.sap.documents()) == entries
    push = closed.instance.get_latest_materialization_event(dg.AssetKey("netsuite_journal_push")).asset_materialization.metadata
    assert push["verified_by_read_back"].value == entries
    from orchestration.definitions import defs

    definitions = defs()
    sap_requests = closed.sap.posted_requests
    again = dg.materialize(
        assets_named(definitions, "netsuite_journal_push", "sap_journal_push"),
        instance=closed.instance, resources=definitions.resources, partition_key=PERIOD,
    )
    assert again.success
    assert closed.netsuite.store.entry_count() == entries and closed.netsuite.store.stats.updated == 0
    assert closed.netsuite.store.stats.unchanged == entries
    assert len(closed.sap.documents()) == entries and closed.sap.posted_requests == sap_requests
    metadata = json.dumps({key: str(value) for event in again.get_asset_materialization_events() for key, value in event.materialization.metadata.items()})
    assert not any(secret in metadata for secret in (*NETSUITE_SECRETS.values(), SAP_PASSWORD))


def test_on_s3_the_files_are_the_same_bytes_behind_presigned_links(closed, moto_endpoint, monkeypatch):
    for name, value in {"AWS_ENDPOINT_URL": moto_endpoint, **S3_ENVIRONMENT, "CLOSE_EXPORT_S3_URI": "s3://close-exports/gl"}.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3").create_bucket(Bucket="close-exports")
    from orchestration.definitions import defs

    definitions = defs()
    result = dg.materialize(assets_named(definitions, "sap_journal_files"), instance=closed.instance, resources=definitions.resources, partition_key=PERIOD)
    [event] = result.get_asset_materialization_events()
    links = {key.split("/")[-1]: value.url for key, value in event.materialization.metadata.items() if key.startswith("download ")}
    assert sorted(links) == sorted(["manifest.json", *map(named, ["sap_journal_entries.xlsx", "sap_journal_entries_comma.csv", "sap_journal_entries_semicolon.csv", "sap_journal_entry_bulk_create_request.xml"])])
    folder = closed.settings.export_dir / "main" / PERIOD
    for name, url in links.items():
        if name != "manifest.json":
            assert requests.get(url, timeout=10).content == (folder / name).read_bytes(), name
    assert "gl/main/2026-10/manifest.json" in links["manifest.json"]


def test_the_assets_export_every_entity_and_their_config_narrows_the_run_to_one(closed):
    from orchestration.definitions import defs

    definitions = defs()
    everyone = dg.materialize(assets_named(definitions, "netsuite_journal_csv"), instance=closed.instance, resources=definitions.resources, partition_key=PERIOD)
    [event] = everyone.get_asset_materialization_events()
    assert event.materialization.metadata["entities"].value == ["main"]  # the small world is one Stripe account
    assert f"file main/{PERIOD}/{named('netsuite_journal_entries.csv')}" in event.materialization.metadata
    unknown = dg.materialize(
        assets_named(definitions, "netsuite_journal_csv"), instance=closed.instance, resources=definitions.resources, partition_key=PERIOD,
        run_config={"ops": {"netsuite_journal_csv": {"config": {"entity_id": "asia"}}}}, raise_on_error=False,
    )
    [error] = [event.event_specific_data.error for event in unknown.all_events if event.is_step_failure]
    assert "no entity 'asia' in seeds/entities.csv; its entities are ['main']" in error.cause.message
    assert not (closed.settings.export_dir / "asia").exists()


def run_cli(closed, warehouse: Path, export_dir: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("CLOSE_", "DAGSTER_"))}
    environment |= {"CLOSE_WAREHOUSE": str(warehouse), "CLOSE_EXPORT_DIR": str(export_dir), "DAGSTER_HOME": str(export_dir / "no-instance")}
    return subprocess.run([STRIPE_CLOSE, "export", *args], env=environment, capture_output=True, text=True, timeout=600, cwd=export_dir.parent)


def test_the_cli_exports_the_same_bytes_after_running_the_proofs(closed, tmp_path):
    completed = run_cli(closed, closed.settings.warehouse, tmp_path / "exports", "--period", PERIOD, "--target", "generic")
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert f"{named('journal.csv')}: " in completed.stdout and "JPY debit" in completed.stdout
    for name in map(named, ("journal.csv", "journal.xlsx", "journal_drilldown.csv")):
        assert (tmp_path / "exports" / "main" / PERIOD / name).read_bytes() == (closed.settings.export_dir / "main" / PERIOD / name).read_bytes()


def test_the_guard_stops_the_cli_and_every_export_asset_naming_the_failing_checks(closed, tmp_path):
    broken = tmp_path / "broken.duckdb"
    shutil.copyfile(closed.settings.warehouse, broken)
    with duckdb.connect(str(broken)) as connection:
        connection.execute("update main.fct_journal_lines set amount_minor = amount_minor + 1 where journal_line_id = (select min(journal_line_id) from main.fct_journal_lines)")
    completed = run_cli(closed, broken, tmp_path / "exports", "--period", PERIOD, "--target", "netsuite")
    assert completed.returncode == 3
    # The changed line unbalances its entry, no longer equals its source records and moves the
    # clearing account off Stripe's balance; the GX suites, run by the CLI too, see the same.
    assert completed.stderr.endswith(
        "refused: exports and pushes are blocked until the ledger's blocking checks pass; failing: "
        "clearing_equals_stripe_balance (fail, 1 failing row(s)), journal_balances (fail, 1 failing row(s)), "
        "lines_tie_to_sources (fail, 1 failing row(s)), "
        "gx_journal_entries_balance (failed), gx_stripe_clearing_equals_stripe_balance (failed)\n"
    )
    assert not (tmp_path / "exports" / "main").exists()

    closed.instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(asset_key=dg.AssetKey("fct_journal_lines"), check_name="journal_balances", passed=False)
    )
    from orchestration.definitions import defs

    definitions = defs()
    guarded = ("netsuite_journal_csv", "sap_journal_files", "accountant_journal", "netsuite_journal_push", "sap_journal_push")
    netsuite_writes = closed.netsuite.store.stats
    before = (netsuite_writes.created, netsuite_writes.updated, netsuite_writes.unchanged, closed.sap.posted_requests)
    result = dg.materialize(
        assets_named(definitions, *guarded),
        instance=closed.instance, resources=definitions.resources, raise_on_error=False,
    )
    failures = {event.step_key: event.event_specific_data.error.message for event in result.all_events if event.is_step_failure}
    assert set(failures) == set(guarded)
    assert all("fct_journal_lines:journal_balances (failed)" in message for message in failures.values())
    assert (netsuite_writes.created, netsuite_writes.updated, netsuite_writes.unchanged, closed.sap.posted_requests) == before
