"""Two entities (tests/dbt/two_entities.py: `main` with subsidiary 1 and company code 1000, `europe`
with 7 and 2000 in the seed) exported in one run: each to its own files and its own ERP postings,
under the ids the seed gives it, amounts equal to its own journal to the minor unit; pushed over
HTTP to the sandbox NetSuite account (TBA) and SAP system.
"""

import csv
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from lxml import etree

from exporters import netsuite, sap_soap, sap_template
from exporters.entities import EntityConfigError
from exporters.journal import net_by_currency_and_account
from exporters.period_export import export_periods, push_periods
from exporters.settings import ExportSettings
from ledger.money import to_major
from sandbox.netsuite_server import SandboxNetSuiteServer, TokenBasedCredentials
from sandbox.sap_server import SandboxSapServer
from tests.dbt.builders import copy_ledger, query
from tests.dbt.two_entities import two_entity_ledger

PERIOD = "2026-10"
IDS = {"main": ("1", "1000"), "europe": ("7", "2000")}
NETSUITE_SECRETS = {"NETSUITE_CONSUMER_SECRET": "ns-consumer-secret-entities", "NETSUITE_TOKEN_SECRET": "ns-token-secret-entities"}
SAP_PASSWORD = "sap-password-entities"
CURRENCY_IDS = {"usd": "1", "eur": "2", "jpy": "3"}
STRIPE_CLOSE = str(Path(sys.executable).with_name("stripe-close"))


@pytest.fixture(scope="module")
def ledger() -> Path:
    return two_entity_ledger().warehouse


def accounts(warehouse: Path) -> dict[str, tuple[str, str]]:
    """Account code -> (NetSuite account, SAP G/L account), as the warehouse's seed has them."""
    return {code: (ns, sap) for code, ns, sap in query(warehouse, "select account_code, netsuite_account, sap_gl_account from accounting.gl_accounts")}


def entity_net(warehouse: Path, entity_id: str, functional: bool = False) -> dict[tuple[str, str], int]:
    """What an entity's exports must hold per (currency, account): its translated journal and revaluations."""
    currency, amount = ("functional_currency", "functional_amount_minor") if functional else ("currency", "amount_minor")
    rows = query(warehouse, f"""
        select currency, account_code, sum(amount)::bigint from (
            select {currency} as currency, account_code, {amount} as amount from main.fct_journal_lines_translated where entity_id = $entity and period = $period
            union all
            select functional_currency, account_code, functional_amount_minor from main.fct_fx_revaluation_lines where entity_id = $entity and period = $period
        ) group by all""", {"entity": entity_id, "period": PERIOD})
    return {(row_currency, account): total for row_currency, account, total in rows if total}


def test_one_run_writes_each_entity_its_own_files_under_the_seeds_subsidiary_and_company_code(ledger, tmp_path):
    settings = ExportSettings.from_env({"CLOSE_EXPORT_DIR": str(tmp_path)})
    exported = export_periods(ledger, settings, "netsuite", [PERIOD]) + export_periods(ledger, settings, "sap", [PERIOD])
    assert sorted({(export.entity_id, export.period) for export in exported}) == [("europe", PERIOD), ("main", PERIOD)]
    codes = accounts(ledger)
    for entity, (subsidiary, company_code) in IDS.items():
        folder = tmp_path / entity / PERIOD
        assert sorted(path.name for path in folder.iterdir()) == sorted([
            "manifest.json", f"netsuite_journal_entries_{entity}_{PERIOD}.csv", f"sap_journal_entries_{entity}_{PERIOD}.xlsx",
            f"sap_journal_entries_comma_{entity}_{PERIOD}.csv", f"sap_journal_entries_semicolon_{entity}_{PERIOD}.csv",
            f"sap_journal_entry_bulk_create_request_{entity}_{PERIOD}.xml",
        ])
        netsuite_file = folder / f"netsuite_journal_entries_{entity}_{PERIOD}.csv"
        with netsuite_file.open(newline="") as stream:
            rows = list(csv.DictReader(stream))
        assert {row["Subsidiary"] for row in rows} == {subsidiary}
        assert {row["External ID"].split("-")[1] for row in rows} == {entity}
        with (folder / f"sap_journal_entries_comma_{entity}_{PERIOD}.csv").open(newline="") as stream:
            template = list(csv.reader(stream))
        data_rows = [row for row in template if row[0].isdigit()]
        assert data_rows and {row[1] for row in data_rows} == {company_code}  # BUKRS of every header and item
        xml = (folder / f"sap_journal_entry_bulk_create_request_{entity}_{PERIOD}.xml").read_bytes()
        assert {element.text for element in etree.fromstring(xml).iter("CompanyCode")} == {company_code}
        # Each entity's files hold its own journal, to the minor unit, in both currencies.
        expected, expected_functional = entity_net(ledger, entity), entity_net(ledger, entity, functional=True)
        parsed = {
            "netsuite": netsuite.read_lines(netsuite_file, {ns: code for code, (ns, _) in codes.items()}),
            "sap template": sap_template.read_journal_lines(template, {sap: code for code, (_, sap) in codes.items()}, "."),
            "sap soap": sap_soap.read_lines(xml, {sap: code for code, (_, sap) in codes.items()}),
        }
        for name, lines in parsed.items():
            assert net_by_currency_and_account(lines) == expected, (entity, name)
            assert net_by_currency_and_account(lines, functional=True) == expected_functional, (entity, name)
        written = json.loads((folder / "manifest.json").read_text())
        assert (written["entity"], written["period"], len(written["files"])) == (entity, PERIOD, 5)
    # The European entity books charges to its own revenue account, the main entity never does.
    assert ("usd", "4090") in entity_net(ledger, "europe") and not any(account == "4090" for _, account in entity_net(ledger, "main"))


def test_pushing_posts_each_entity_under_its_own_subsidiary_and_company_code_once(ledger, tmp_path):
    codes = accounts(ledger)
    references = tmp_path / "netsuite_references.csv"
    # main's subsidiary internal id from the references file; europe's from the seed (7).
    rows = [("subsidiary", "main", "1"), *(("currency", code, internal) for code, internal in CURRENCY_IDS.items()),
            *(("account", code, f"1{code}") for code in codes)]
    with references.open("w", newline="") as stream:
        csv.writer(stream).writerows([("kind", "key", "internal_id"), *rows])
    netsuite_server = SandboxNetSuiteServer(
        "7654321_SB1", TokenBasedCredentials("ck-entities", NETSUITE_SECRETS["NETSUITE_CONSUMER_SECRET"], "tid-entities", NETSUITE_SECRETS["NETSUITE_TOKEN_SECRET"]),
        subsidiary_ids={"1", "7"}, currency_ids=set(CURRENCY_IDS.values()), account_ids={f"1{code}" for code in codes}, latency_s=0,
    )
    sap_server = SandboxSapServer("STRIPE_COMM", SAP_PASSWORD, company_codes={"1000", "2000"}, gl_accounts={sap for _, sap in codes.values()}, latency_s=0)
    with netsuite_server, sap_server:
        settings = ExportSettings.from_env({
            "NETSUITE_ACCOUNT_ID": "7654321-sb1", "NETSUITE_REST_URL": netsuite_server.url, "NETSUITE_CONSUMER_KEY": "ck-entities",
            "NETSUITE_TOKEN_ID": "tid-entities", "NETSUITE_REFERENCES_FILE": str(references), "NETSUITE_VERIFY": "1",
            "SAP_URL": sap_server.url, "SAP_USER": "STRIPE_COMM", "SAP_PASSWORD": SAP_PASSWORD, **NETSUITE_SECRETS,
        })
        reports = push_periods(ledger, settings, "netsuite", [PERIOD]) + push_periods(ledger, settings, "sap", [PERIOD])
        assert sorted((report.target, report.entity_id) for report in reports) == [
            ("netsuite", "europe"), ("netsuite", "main"), ("sap", "europe"), ("sap", "main")]
        assert [failure for report in reports for failure in report.failures] == []
        with netsuite_server.store.lock:
            netsuite_lines = netsuite_server.store.database.execute("""
                select t.externalid, t.subsidiary, t.currency, l.account, l.debitforeignamount, l.creditforeignamount
                from "transaction" as t join transactionline as l on l."transaction" = t.id""").fetchall()
        sap_items = list(sap_server.items)
        for entity, (subsidiary, company_code) in IDS.items():
            expected = entity_net(ledger, entity)
            # NetSuite: the entity's entries under its subsidiary, each line's net per currency and account.
            posted: dict[tuple[str, str], Decimal] = {}
            for external_id, entry_subsidiary, currency_id, account_id, debit, credit in netsuite_lines:
                if external_id.startswith(f"STRIPE-{entity}-"):
                    assert entry_subsidiary == subsidiary, external_id
                    key = (currency_id, account_id)
                    posted[key] = posted.get(key, Decimal(0)) + Decimal(debit or 0) - Decimal(credit or 0)
            assert {key: amount for key, amount in posted.items() if amount} == {
                (CURRENCY_IDS[currency], f"1{account}"): to_major(amount, currency) for (currency, account), amount in expected.items()
            }
            # SAP: the entity's documents in its company code, per currency and G/L account.
            booked: dict[tuple[str, str], Decimal] = {}
            for item in sap_items:
                if item.company_code == company_code:
                    key = (item.currency.lower(), item.gl_account)
                    booked[key] = booked.get(key, Decimal(0)) + item.amount
            assert {key: amount for key, amount in booked.items() if amount} == {
                (currency, codes[account][1]): to_major(amount, currency) for (currency, account), amount in expected.items()
            }
        assert {item.company_code for item in sap_items} == {"1000", "2000"}
        # Again: upserts by external id and SAP's read-back change nothing, entity by entity.
        created, sap_requests, documents = netsuite_server.store.stats.created, sap_server.posted_requests, len(sap_server.documents())
        again = push_periods(ledger, settings, "netsuite", [PERIOD]) + push_periods(ledger, settings, "sap", [PERIOD])
        assert (netsuite_server.store.stats.created, netsuite_server.store.stats.updated) == (created, 0)
        assert (sap_server.posted_requests, len(sap_server.documents())) == (sap_requests, documents)
        assert {result.status for report in again if report.target == "sap" for result in report.results} == {"already_posted"}
    described = " ".join(result.describe() for report in reports + again for result in report.results)
    assert not any(secret in described for secret in (*NETSUITE_SECRETS.values(), SAP_PASSWORD))


def test_an_entity_without_a_company_code_stops_the_run_before_anything_is_written_or_posted(ledger, tmp_path):
    damaged = copy_ledger(ledger, tmp_path / "ledger")
    with duckdb.connect(str(damaged)) as connection:
        connection.execute("update accounting.entities set sap_company_code = null, netsuite_subsidiary = '' where entity_id = 'europe'")
    exports = tmp_path / "exports"
    settings = ExportSettings.from_env({"CLOSE_EXPORT_DIR": str(exports)})
    with pytest.raises(EntityConfigError, match=r"entity 'europe' \(ACME Robotics GmbH\) has no sap_company_code in seeds/entities.csv"):
        export_periods(damaged, settings, "sap", [PERIOD])
    with pytest.raises(EntityConfigError, match=r"entity 'europe' \(ACME Robotics GmbH\) has no netsuite_subsidiary"):
        export_periods(damaged, settings, "netsuite", [PERIOD])
    assert not exports.exists()  # not even the main entity's files
    with SandboxSapServer("STRIPE_COMM", SAP_PASSWORD, company_codes={"1000", "2000"}, latency_s=0) as sap_server:
        sap = ExportSettings.from_env({"SAP_URL": sap_server.url, "SAP_USER": "STRIPE_COMM", "SAP_PASSWORD": SAP_PASSWORD})
        with pytest.raises(EntityConfigError, match="entity 'europe'.*no sap_company_code") as raised:
            push_periods(damaged, sap, "sap", [PERIOD])
        assert sap_server.posted_requests == 0 and sap_server.items == []
    assert SAP_PASSWORD not in str(raised.value)
    # The journal for accountants needs no ERP id, and one entity can still be exported alone.
    generic = export_periods(damaged, settings, "generic", [PERIOD])
    assert sorted(export.entity_id for export in generic) == ["europe", "main"]
    [main] = export_periods(damaged, settings, "sap", [PERIOD], entity_id="main")
    assert main.entity_id == "main" and all("_main_" in file.path.name for file in main.files)


def test_the_entity_filter_exports_one_entity_and_refuses_an_unknown_one(ledger, tmp_path):
    settings = ExportSettings.from_env({"CLOSE_EXPORT_DIR": str(tmp_path)})
    [europe] = export_periods(ledger, settings, "generic", [PERIOD], entity_id="europe")
    assert sorted(path.name for path in (tmp_path / "europe" / PERIOD).iterdir()) == sorted([
        "manifest.json", f"journal_europe_{PERIOD}.csv", f"journal_drilldown_europe_{PERIOD}.csv", f"journal_europe_{PERIOD}.xlsx"])
    assert not (tmp_path / "main").exists()
    assert europe.files[0].totals["usd"].debit_minor > 0
    with pytest.raises(EntityConfigError, match=r"no entity 'asia' in seeds/entities.csv; its entities are \['europe', 'main'\]"):
        export_periods(ledger, settings, "generic", [PERIOD], entity_id="asia")
    with pytest.raises(ValueError, match=r"no journal lines for entity 'europe' in period\(s\) \['2026-07'\]"):
        export_periods(ledger, settings, "generic", ["2026-07"], entity_id="europe")


def run_cli(warehouse: Path, export_dir: Path, *args: str, **environment: str) -> subprocess.CompletedProcess:
    variables = {key: value for key, value in os.environ.items() if not key.startswith(("CLOSE_", "DAGSTER_", "NETSUITE_", "SAP_"))}
    variables |= {"CLOSE_WAREHOUSE": str(warehouse), "CLOSE_EXPORT_DIR": str(export_dir), "DAGSTER_HOME": str(export_dir / "no-instance"), **environment}
    return subprocess.run([STRIPE_CLOSE, "export", *args], env=variables, capture_output=True, text=True, timeout=600, cwd=export_dir.parent)


def test_the_cli_exports_every_entity_after_the_proofs_and_refuses_the_retired_variables(ledger, tmp_path):
    completed = run_cli(ledger, tmp_path / "exports", "--period", PERIOD, "--target", "netsuite")
    assert completed.returncode == 0, completed.stderr[-3000:]
    for entity, (subsidiary, _) in IDS.items():
        path = tmp_path / "exports" / entity / PERIOD / f"netsuite_journal_entries_{entity}_{PERIOD}.csv"
        assert f"{path.name}: " in completed.stdout
        with path.open(newline="") as stream:
            assert {row["Subsidiary"] for row in csv.DictReader(stream)} == {subsidiary}
    refused = run_cli(ledger, tmp_path / "again", "--period", PERIOD, "--target", "sap", SAP_COMPANY_CODE="1010")
    assert refused.returncode == 2
    assert "SAP_COMPANY_CODE is no longer read: each entity's sap_company_code comes from seeds/entities.csv" in refused.stderr
    assert not (tmp_path / "again").exists()


@pytest.mark.parametrize(("renamed", "message"), [
    ("eu/rope", r"entity id 'eu/rope' in seeds/entities.csv may only hold letters, digits, '-' and '_'"),
    ("eu", r"entity\(ies\) \['europe'\] have journal lines but no row in seeds/entities.csv"),
])
def test_a_seed_that_cannot_name_the_journals_entities_is_refused(ledger, tmp_path, renamed, message):
    damaged = copy_ledger(ledger, tmp_path / "ledger")
    with duckdb.connect(str(damaged)) as connection:
        connection.execute("update accounting.entities set entity_id = ? where entity_id = 'europe'", [renamed])
    with pytest.raises(EntityConfigError, match=message):
        export_periods(damaged, ExportSettings.from_env({"CLOSE_EXPORT_DIR": str(tmp_path / "exports")}), "generic", [PERIOD])
    assert not (tmp_path / "exports").exists()
