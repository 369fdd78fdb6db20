"""A KWD (3 decimals) and USD ledger exported to NetSuite (2 decimals) and SAP: the USD entries are
exported, each KWD entry follows the target's currency policy (refused and listed, posted in the
functional currency, or rounded with the remainder on the rounding account), as files and as pushes.

The ledger is a real dbt build of the default project over two hand-made charges of 2026-10-05:
12.344 KWD (fee 0.457) and 50.00 USD (fee 1.75), entity `main` (functional USD, KWD at 3.2611).
"""

import csv
import dataclasses
import json
from decimal import Decimal

import boto3
import duckdb
import pytest

from exporters import netsuite
from exporters.currency_policy import CurrencyPolicy, TargetPrecision, apply_policy, round_half_away
from exporters.journal import net_by_currency_and_account
from exporters.period_export import export_periods, file_name, load_ledgers, push_periods
from exporters.settings import ExportSettings
from ledger.config import ConfigError
from sandbox.netsuite_server import SandboxNetSuiteServer, TokenBasedCredentials
from sandbox.sap_server import SandboxSapServer
from tests.dbt.builders import project_copy, transaction, ts
from tests.dbt.fx_world import land_and_build
from tests.exporters.conftest import S3_ENVIRONMENT
from tests.exporters.lines import KWD, USD

PERIOD = "2026-10"
KWD_ENTRY, USD_ENTRY = "STRIPE-main-20261005-KWD", "STRIPE-main-20261005-USD"
TRANSACTIONS = [
    transaction("txn_kwd", "charge", "charge", 12_344, 457, currency="kwd", created=ts("2026-10-05")),
    transaction("txn_usd", "charge", "charge", 5_000, 175, created=ts("2026-10-05")),
]
# The KWD entry in USD at 3.2611: net 11.887 -> 38.76, gross 12.344 -> 40.26, fee 0.457 -> 1.49; 0.01 to 7000.
KWD_IN_USD = {"1010": 3_876, "4000": -4_026, "6000": 149, "7000": 1}
USD_LEDGER = {"1010": 4_825, "4000": -5_000, "6000": 175}
REFUSED_REASON = "KWD has 3 decimals and NetSuite keeps 2 (NETSUITE_CURRENCY_POLICY kwd:refuse)"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("kwd-ledger")
    path = workdir / "warehouse.duckdb"
    land_and_build(path, project_copy(workdir / "dbt_project"), "main", TRANSACTIONS)
    return path


def settings_for(tmp_path, **environment: str) -> ExportSettings:
    return ExportSettings.from_env({"CLOSE_EXPORT_DIR": str(tmp_path / "exports"), **environment})


def folder(tmp_path):
    return tmp_path / "exports" / "main" / PERIOD


def netsuite_rows(tmp_path) -> list[dict[str, str]]:
    with (folder(tmp_path) / file_name("netsuite_journal_entries.csv", "main", PERIOD)).open(newline="") as stream:
        return list(csv.DictReader(stream))


def written_net(tmp_path) -> dict[tuple[str, str], dict[str, int]]:
    """Per entry and currency, the file's signed amounts by account code, in the currency's minor units
    (without the rows that carry a functional amount only)."""
    lines = netsuite.read_lines(folder(tmp_path) / file_name("netsuite_journal_entries.csv", "main", PERIOD),
                                {f"{code} {name}": code for code, name in ACCOUNTS.items()})
    found: dict[tuple[str, str], dict[str, int]] = {}
    for line in lines:
        if line.amount_minor:
            found.setdefault((line.external_id, line.currency), {})[line.account_code] = line.amount_minor
    return found


ACCOUNTS = {"1010": "Stripe Clearing", "4000": "Revenue", "6000": "Stripe Processing Fees", "7000": "FX Gain/Loss",
            "7020": "ERP Rounding Differences"}


def test_the_policy_settings_are_read_and_bad_ones_named():
    settings = ExportSettings.from_env({"NETSUITE_CURRENCY_POLICY": "kwd:functional, BHD:round", "SAP_CURRENCY_DECIMALS": "kwd:2"})
    assert dict(settings.netsuite_currency_policy.policies) == {"kwd": "functional", "bhd": "round"}
    assert settings.sap_currency_policy.of("kwd") == "refuse"
    precision, _ = settings.currency_rules("sap")
    assert (precision.decimals("kwd"), precision.carries("kwd"), precision.carries("jpy")) == (2, False, True)
    with pytest.raises(ConfigError, match=r"^NETSUITE_CURRENCY_POLICY: kwd:truncate is not one of refuse, functional, round$"):
        ExportSettings.from_env({"NETSUITE_CURRENCY_POLICY": "kwd:truncate"})
    with pytest.raises(ConfigError, match=r"^SAP_CURRENCY_POLICY: 'kwd' is not currency:value \(e.g. kwd:functional\)$"):
        ExportSettings.from_env({"SAP_CURRENCY_POLICY": "kwd"})
    with pytest.raises(ConfigError, match=r"^SAP_CURRENCY_DECIMALS: kwd:two is not currency:decimals \(e.g. kwd:2\)$"):
        ExportSettings.from_env({"SAP_CURRENCY_DECIMALS": "kwd:two"})


def test_rounding_is_half_away_from_zero_to_the_step():
    assert [round_half_away(amount, 10) for amount in (12_345, 12_344, -12_345, -12_344, 5, -5, 4)] == [12_350, 12_340, -12_350, -12_340, 10, -10, 0]


def test_the_decision_depends_on_the_currency_not_on_the_amount():
    """A KWD entry whose amounts all end in 0 is refused like any other KWD entry."""
    round_kwd = [dataclasses.replace(line, amount_minor=line.amount_minor * 10, functional_amount_minor=line.amount_minor * 10) for line in KWD]
    applied = apply_policy(round_kwd + USD, PERIOD, TargetPrecision("netsuite", "NetSuite", 2), CurrencyPolicy("NETSUITE_CURRENCY_POLICY"), None)
    assert [line.external_id for line in applied.lines] == [USD[0].external_id] * 3
    assert [(e.external_id, e.action) for e in applied.exceptions] == [("STRIPE-main-20261003-KWD", "refused")]


def test_by_default_netsuite_gets_the_usd_entries_and_the_kwd_entry_is_an_exception(warehouse, tmp_path):
    [exported] = export_periods(warehouse, settings_for(tmp_path), "netsuite", [PERIOD])
    assert written_net(tmp_path) == {(USD_ENTRY, "usd"): USD_LEDGER}
    [exception] = exported.exceptions
    assert (exception.target, exception.entity_id, exception.external_id, exception.currency, exception.action, exception.reason) == (
        "netsuite", "main", KWD_ENTRY, "kwd", "refused", REFUSED_REASON)
    manifest = json.loads((folder(tmp_path) / "manifest.json").read_text())
    assert manifest["exceptions"] == {"netsuite": [{
        "target": "netsuite", "entity_id": "main", "period": PERIOD, "external_id": KWD_ENTRY, "accounting_date": "2026-10-05",
        "currency": "KWD", "functional_currency": "USD", "debit": "12.344", "debit_minor": 12_344, "action": "refused",
        "rounding_minor": 0, "reason": REFUSED_REASON,
    }]}
    exceptions_name = file_name("netsuite_export_exceptions.csv", "main", PERIOD)
    assert [entry["name"] for entry in manifest["files"]] == [exceptions_name, file_name("netsuite_journal_entries.csv", "main", PERIOD)]
    with (folder(tmp_path) / exceptions_name).open(newline="") as stream:
        assert list(csv.DictReader(stream)) == [{
            "target": "netsuite", "entity_id": "main", "period": PERIOD, "external_id": KWD_ENTRY, "accounting_date": "2026-10-05",
            "currency": "KWD", "functional_currency": "USD", "debit": "12.344", "action": "refused", "rounding": "", "reason": REFUSED_REASON,
        }]


def test_the_functional_policy_posts_the_kwd_entry_in_usd_from_the_translated_journal(warehouse, tmp_path):
    [exported] = export_periods(warehouse, settings_for(tmp_path, NETSUITE_CURRENCY_POLICY="kwd:functional"), "netsuite", [PERIOD])
    assert written_net(tmp_path) == {(USD_ENTRY, "usd"): USD_LEDGER, (KWD_ENTRY, "usd"): KWD_IN_USD}
    assert sum(KWD_IN_USD.values()) == 0
    rows = [row for row in netsuite_rows(tmp_path) if row["External ID"] == KWD_ENTRY]
    assert {(row["Currency"], row["Exchange Rate"], row["Functional Currency"]) for row in rows} == {("USD", "1", "USD")}
    assert [(e.external_id, e.action) for e in exported.exceptions] == [(KWD_ENTRY, "posted_in_functional_currency")]
    manifest = json.loads((folder(tmp_path) / "manifest.json").read_text())
    assert [e["action"] for e in manifest["exceptions"]["netsuite"]] == ["posted_in_functional_currency"]


def test_the_round_policy_rounds_to_cents_of_a_dinar_and_books_the_remainder_on_the_rounding_account(warehouse, tmp_path):
    [exported] = export_periods(warehouse, settings_for(tmp_path, NETSUITE_CURRENCY_POLICY="kwd:round"), "netsuite", [PERIOD])
    # 11.887 -> 11.89, 12.344 -> 12.34, 0.457 -> 0.46: debits exceed credits by 0.01, credited to 7020.
    rounded = {"1010": 11_890, "4000": -12_340, "6000": 460, "7020": -10}
    assert written_net(tmp_path) == {(USD_ENTRY, "usd"): USD_LEDGER, (KWD_ENTRY, "kwd"): rounded}
    assert sum(rounded.values()) == 0
    rows = {row["Journal Entry -Line: Account"]: row for row in netsuite_rows(tmp_path) if row["External ID"] == KWD_ENTRY}
    assert {account: (row["Journal Entry -Line: Debit"], row["Journal Entry -Line: Credit"], row["Functional Debit"], row["Functional Credit"])
            for account, row in rows.items()} == {
        "1010 Stripe Clearing": ("11.89", "", "38.76", ""), "4000 Revenue": ("", "12.34", "", "40.26"),
        "6000 Stripe Processing Fees": ("0.46", "", "1.49", ""), "7000 FX Gain/Loss": ("", "", "0.01", ""),
        "7020 ERP Rounding Differences": ("", "0.01", "", ""),
    }
    # Per account the file differs from the ledger by less than half a cent of a dinar, and the rounding account holds the sum.
    [ledger] = load_ledgers(warehouse, [PERIOD])
    ledger_kwd = {account: amount for (currency, account), amount in net_by_currency_and_account(ledger.lines).items() if currency == "kwd"}
    assert ledger_kwd == {"1010": 11_887, "4000": -12_344, "6000": 457}
    assert all(abs(rounded[account] - amount) <= 5 for account, amount in ledger_kwd.items())
    assert sum(rounded[account] - amount for account, amount in ledger_kwd.items()) == -rounded["7020"]
    [exception] = exported.exceptions
    assert (exception.action, exception.rounding_minor) == ("rounded", -10)
    assert "-0.010 on the rounding account" in exception.describe()


def test_a_round_policy_without_a_rounding_account_stops_before_anything_is_written(warehouse, tmp_path):
    copy = tmp_path / "no-rounding.duckdb"
    copy.write_bytes(warehouse.read_bytes())
    with duckdb.connect(str(copy)) as connection:
        connection.execute("delete from accounting.gl_control_accounts where account_role = 'erp_rounding'")
    with pytest.raises(ConfigError, match=r"^NETSUITE_CURRENCY_POLICY rounds KWD, but seeds/gl_control_accounts.csv has no account of role erp_rounding"):
        export_periods(copy, settings_for(tmp_path, NETSUITE_CURRENCY_POLICY="kwd:round"), "netsuite", [PERIOD])
    assert not (tmp_path / "exports").exists()


def test_sap_keeps_three_decimals_for_kwd_unless_its_tcurx_says_otherwise(warehouse, tmp_path):
    [exported] = export_periods(warehouse, settings_for(tmp_path), "sap", [PERIOD])
    assert exported.exceptions == []
    assert "exceptions" not in json.loads((folder(tmp_path) / "manifest.json").read_text())
    [exported] = export_periods(warehouse, settings_for(tmp_path, SAP_CURRENCY_DECIMALS="kwd:2"), "sap", [PERIOD])
    assert [(e.target, e.currency, e.action, e.reason) for e in exported.exceptions] == [
        ("sap", "kwd", "refused", "KWD has 3 decimals and SAP (TCURX) keeps 2 (SAP_CURRENCY_POLICY kwd:refuse)")]
    xml = (folder(tmp_path) / file_name("sap_journal_entry_bulk_create_request.xml", "main", PERIOD)).read_text()
    assert 'currencyCode="KWD"' not in xml and 'currencyCode="USD">48.25<' in xml
    # Rounded at SAP's 2 decimals, the entry is written with 2.
    export_periods(warehouse, settings_for(tmp_path, SAP_CURRENCY_DECIMALS="kwd:2", SAP_CURRENCY_POLICY="kwd:round"), "sap", [PERIOD])
    xml = (folder(tmp_path) / file_name("sap_journal_entry_bulk_create_request.xml", "main", PERIOD)).read_text()
    assert 'currencyCode="KWD">11.89<' in xml and 'currencyCode="KWD">-0.01<' in xml
    # Back to TCURX's 3 decimals: no exception left, the exceptions file and its manifest entries are gone.
    export_periods(warehouse, settings_for(tmp_path), "sap", [PERIOD])
    manifest = json.loads((folder(tmp_path) / "manifest.json").read_text())
    assert "exceptions" not in manifest
    assert not (folder(tmp_path) / file_name("sap_export_exceptions.csv", "main", PERIOD)).exists()
    assert file_name("sap_export_exceptions.csv", "main", PERIOD) not in [entry["name"] for entry in manifest["files"]]


def test_the_manifest_keeps_each_targets_exceptions(warehouse, tmp_path):
    export_periods(warehouse, settings_for(tmp_path), "netsuite", [PERIOD])
    export_periods(warehouse, settings_for(tmp_path, SAP_CURRENCY_DECIMALS="kwd:2"), "sap", [PERIOD])
    export_periods(warehouse, settings_for(tmp_path), "generic", [PERIOD])
    manifest = json.loads((folder(tmp_path) / "manifest.json").read_text())
    assert {target: [e["external_id"] for e in listed] for target, listed in manifest["exceptions"].items()} == {
        "netsuite": [KWD_ENTRY], "sap": [KWD_ENTRY]}


def push_environment(tmp_path, netsuite_server, sap_server) -> dict[str, str]:
    references = tmp_path / "references.csv"
    rows = [("kind", "key", "internal_id"), ("subsidiary", "main", "1"), ("currency", "usd", "1"), ("currency", "kwd", "4")]
    rows += [("account", code, f"1{code}") for code in ACCOUNTS]
    with references.open("w", newline="") as stream:
        csv.writer(stream).writerows(rows)
    return {
        "NETSUITE_ACCOUNT_ID": "7654321-sb1", "NETSUITE_REST_URL": netsuite_server.url, "NETSUITE_CONSUMER_KEY": "ck",
        "NETSUITE_CONSUMER_SECRET": "cs", "NETSUITE_TOKEN_ID": "tid", "NETSUITE_TOKEN_SECRET": "ts", "NETSUITE_REFERENCES_FILE": str(references),
        "SAP_URL": sap_server.url, "SAP_USER": "STRIPE_COMM", "SAP_PASSWORD": "sap-password",
    }


@pytest.fixture
def erp_servers():
    netsuite_server = SandboxNetSuiteServer(
        "7654321_SB1", TokenBasedCredentials("ck", "cs", "tid", "ts"), currency_ids={"1", "4"},
        account_ids={f"1{code}" for code in ACCOUNTS}, latency_s=0,
    )
    sap_server = SandboxSapServer("STRIPE_COMM", "sap-password", company_codes={"1000"}, latency_s=0)
    with netsuite_server, sap_server:
        yield netsuite_server, sap_server


def test_pushes_skip_the_refused_entries_and_push_the_others(warehouse, tmp_path, erp_servers):
    netsuite_server, sap_server = erp_servers
    environment = push_environment(tmp_path, netsuite_server, sap_server)
    [report] = push_periods(warehouse, settings_for(tmp_path, **environment), "netsuite", [PERIOD])
    assert [(result.external_id, result.status) for result in report.results] == [(USD_ENTRY, "upserted")]
    assert report.failures == []
    assert [(e.target, e.external_id, e.currency, e.action, e.reason) for e in report.exceptions] == [
        ("netsuite", KWD_ENTRY, "kwd", "refused", REFUSED_REASON)]
    assert netsuite_server.store.read(KWD_ENTRY) is None and netsuite_server.store.read(USD_ENTRY) is not None

    [report] = push_periods(warehouse, settings_for(tmp_path, **environment, SAP_CURRENCY_DECIMALS="kwd:2"), "sap", [PERIOD])
    assert [result.status for result in report.results] == ["posted"] and report.failures == []
    assert [(e.target, e.external_id, e.action) for e in report.exceptions] == [("sap", KWD_ENTRY, "refused")]
    assert {item.currency for item in sap_server.items} == {"USD"}


def test_the_rest_push_posts_rounded_kwd_entries_with_two_decimals(warehouse, tmp_path, erp_servers):
    netsuite_server, sap_server = erp_servers
    environment = push_environment(tmp_path, netsuite_server, sap_server)
    [report] = push_periods(warehouse, settings_for(tmp_path, **environment, NETSUITE_CURRENCY_POLICY="kwd:round"), "netsuite", [PERIOD])
    assert {(result.external_id, result.status) for result in report.results} == {(USD_ENTRY, "upserted"), (KWD_ENTRY, "upserted")}
    stored = netsuite_server.store.read(KWD_ENTRY)
    assert sorted((line["account"], line["amounts"]) for line in stored["lines"]) == sorted([
        ("11010", {"debit": Decimal("11.89")}), ("14000", {"credit": Decimal("12.34")}),
        ("16000", {"debit": Decimal("0.46")}), ("17020", {"credit": Decimal("0.01")}),
    ])
    assert [e.action for e in report.exceptions] == ["rounded"]


@pytest.fixture(scope="module")
def kwd_only_warehouse(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("kwd-only-ledger")
    path = workdir / "warehouse.duckdb"
    land_and_build(path, project_copy(workdir / "dbt_project"), "main", TRANSACTIONS[:1])
    return path


def test_a_period_whose_every_entry_is_refused_has_only_its_exceptions_file(kwd_only_warehouse, tmp_path):
    journal, exceptions = (file_name(name, "main", PERIOD) for name in ("netsuite_journal_entries.csv", "netsuite_export_exceptions.csv"))

    def listed() -> tuple[list[str], list[str]]:
        manifest = json.loads((folder(tmp_path) / "manifest.json").read_text())
        return sorted(path.name for path in folder(tmp_path).iterdir()), [entry["name"] for entry in manifest["files"]]

    [exported] = export_periods(kwd_only_warehouse, settings_for(tmp_path), "netsuite", [PERIOD])
    assert [(e.external_id, e.action) for e in exported.exceptions] == [(KWD_ENTRY, "refused")]
    assert listed() == (["manifest.json", exceptions], [exceptions])
    # Posted in USD, the entry has its journal file again; refused again, that file goes.
    export_periods(kwd_only_warehouse, settings_for(tmp_path, NETSUITE_CURRENCY_POLICY="kwd:functional"), "netsuite", [PERIOD])
    assert listed() == (["manifest.json", exceptions, journal], [exceptions, journal])
    export_periods(kwd_only_warehouse, settings_for(tmp_path), "netsuite", [PERIOD])
    assert listed() == (["manifest.json", exceptions], [exceptions])


def test_a_functional_currency_netsuite_cannot_carry_counts_for_the_file_but_not_for_the_rest_push():
    """An entity keeping its books in KWD: its USD entry carries KWD functional amounts in the CSV only."""
    usd_in_kwd = [dataclasses.replace(line, functional_currency="kwd", functional_amount_minor=line.amount_minor * 3) for line in USD]
    policy = CurrencyPolicy.parse("NETSUITE_CURRENCY_POLICY", "kwd:functional")
    file_target, rest_target = TargetPrecision("netsuite", "NetSuite", 2), TargetPrecision("netsuite", "NetSuite", 2, carries_functional=False)
    refused = apply_policy(usd_in_kwd, PERIOD, file_target, policy, None)
    assert refused.lines == []
    assert [(e.currency, e.functional_currency, e.action, e.reason) for e in refused.exceptions] == [(
        "usd", "kwd", "refused",
        "KWD has 3 decimals and NetSuite keeps 2 (NETSUITE_CURRENCY_POLICY kwd:functional); the functional currency KWD does not fit either",
    )]
    pushed = apply_policy(usd_in_kwd, PERIOD, rest_target, policy, None)
    assert (pushed.lines, pushed.exceptions) == (usd_in_kwd, [])


def test_on_s3_the_exceptions_file_is_published_and_removed_with_its_manifest_entries(warehouse, moto_endpoint, monkeypatch):
    for name, value in {"AWS_ENDPOINT_URL": moto_endpoint, **S3_ENVIRONMENT}.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="kwd-exports")
    prefix, exceptions = "close/main/2026-10/", file_name("sap_export_exceptions.csv", "main", PERIOD)

    def stored() -> tuple[list[str], dict]:
        keys = [item["Key"].removeprefix(prefix) for item in s3.list_objects_v2(Bucket="kwd-exports", Prefix=prefix)["Contents"]]
        return sorted(keys), json.loads(s3.get_object(Bucket="kwd-exports", Key=prefix + "manifest.json")["Body"].read())

    environment = {"CLOSE_EXPORT_S3_URI": "s3://kwd-exports/close"}
    export_periods(warehouse, ExportSettings.from_env({**environment, "SAP_CURRENCY_DECIMALS": "kwd:2"}), "sap", [PERIOD])
    keys, manifest = stored()
    assert exceptions in keys and [e["external_id"] for e in manifest["exceptions"]["sap"]] == [KWD_ENTRY]
    export_periods(warehouse, ExportSettings.from_env(environment), "sap", [PERIOD])
    keys, manifest = stored()
    assert exceptions not in keys and "exceptions" not in manifest
    assert exceptions not in [entry["name"] for entry in manifest["files"]] and len(manifest["files"]) == 4
