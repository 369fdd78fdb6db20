"""Two entities (tests/dbt/two_entities.py: `main` and `europe`, each Stripe account's payouts on the
bank statement) get a close package each in one run: its own trial balance and roll-forward, equal
to the warehouse's rows of that entity to the minor unit, and a bank reconciliation of exactly its
own Stripe account's payouts; the bank lines no payout claims are listed once, as unassigned, in the
default entity's package. Built by the plain function, the `stripe-close package` command and a real
Dagster materialization of the `close_package` asset.
"""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from lxml import html as lxml_html

from exporters import xlsx
from exporters.close_package.package import ClosePackageError, build_close_packages
from exporters.publish import Destination
from ledger.money import parse_major
from orchestration.defs.reporting.assets import close_package
from orchestration.defs.resources import ExportResource, WarehouseResource
from tests.dbt.builders import copy_ledger, query
from tests.dbt.two_entities import ACCOUNTS, two_entity_ledger

pytestmark = pytest.mark.e2e

PERIOD = "2026-10"
STRIPE_CLOSE = str(Path(sys.executable).with_name("stripe-close"))


@pytest.fixture(scope="module")
def ledger() -> Path:
    return two_entity_ledger().warehouse


@pytest.fixture(scope="module")
def packages(ledger, tmp_path_factory) -> dict:
    built = build_close_packages(ledger, Destination(directory=tmp_path_factory.mktemp("packages")), [PERIOD], "main")
    return {package.data.entity_id: package for package in built}


def document(package):
    return lxml_html.fromstring(Path(package.html.location).read_bytes())


def cells(row) -> list[str]:
    return [cell.text_content().strip() for cell in row.findall("td")]


def amount(text: str, currency: str) -> int:
    return parse_major(text.replace(",", ""), currency)


def warehouse_trial_balance(ledger: Path, entity: str) -> dict:
    """Per (currency, account): opening, debits, credits, closing of the entity, from its journal lines."""
    rows = query(ledger, """
        select currency, account_code,
            sum(amount_minor) filter (period < $1), coalesce(sum(amount_minor) filter (period = $1 and amount_minor > 0), 0),
            coalesce(-sum(amount_minor) filter (period = $1 and amount_minor < 0), 0), sum(amount_minor)
        from main.fct_journal_lines where entity_id = $2 and period <= $1 group by all""", [PERIOD, entity])
    return {(currency, account): (opening or 0, debits, credits, closing) for currency, account, opening, debits, credits, closing in rows}


def bank_payouts(ledger: Path, account: str) -> set[str]:
    """The payouts of a Stripe account (by the raw payout's account, not the marts' entity column)
    arriving in the period that the bank marts place: matched, returned, or open items."""
    rows = query(ledger, """
        select payouts.id from raw.stripe_payouts as payouts
        where payouts.stripe_account_id = $1 and strftime(payouts.arrival_date, '%Y-%m') = $2
            and payouts.id in (
                select payout_id from main.fct_payout_bank_matches union select payout_id from main.fct_payout_bank_returns
                union select payout_id from main.fct_reconciliation_exceptions where payout_id is not null
            )""", [account, PERIOD])
    return {payout for (payout,) in rows}


def test_one_run_writes_a_package_for_each_entity_in_its_own_folder(packages, ledger):
    assert sorted(packages) == ["europe", "main"]
    for entity, package in packages.items():
        folder = Path(package.html.location).parent
        assert folder == Path(package.html.location).parents[3] / entity / PERIOD / "close_package"
        assert sorted(path.name for path in folder.iterdir()) == sorted([f"close_package_{entity}_{PERIOD}.html", f"close_package_{entity}_{PERIOD}.xlsx", "manifest.json"])
        manifest = json.loads((folder / "manifest.json").read_text())
        assert (manifest["entity"], manifest["period"]) == (entity, PERIOD)
        period_totals = {
            currency: {"debit_minor": debits, "credit_minor": credits}
            for currency, debits, credits in query(ledger, """
                select upper(currency), coalesce(sum(amount_minor) filter (amount_minor > 0), 0), coalesce(-sum(amount_minor) filter (amount_minor < 0), 0)
                from main.fct_journal_lines where entity_id = $1 and period = $2 group by all""", [entity, PERIOD])
        }
        # The manifest records the period's debits and credits of the entity's trial balance.
        for entry in manifest["files"]:
            assert {currency: {side: totals[side] for side in ("debit_minor", "credit_minor")} for currency, totals in entry["totals"].items()} == period_totals


def test_each_trial_balance_and_rollforward_is_the_entitys_own(packages, ledger):
    for entity, package in packages.items():
        parsed = {}
        for table in document(package).xpath("//table[@class='trial-balance']"):
            currency = table.get("data-currency")
            for row in table.xpath("./tbody/tr"):
                account, _, _, *amounts = cells(row)
                parsed[(currency, account)] = tuple(amount(text, currency) for text in amounts)
        assert parsed == warehouse_trial_balance(ledger, entity)
        rollforward = {
            (row.get("data-currency"), row.get("data-category")): amount(cells(row)[2], row.get("data-currency"))
            for row in document(package).xpath("//table[@id='rollforward']/tbody/tr")
        }
        assert rollforward == dict(((currency, category), total) for currency, category, total in query(
            ledger, "select currency, category, net_amount_minor from main.rpt_stripe_balance_rollforward where entity_id = $1 and period = $2", [entity, PERIOD]))
    # Their books differ: europe books charges to its own revenue account, main has JPY.
    assert any(account == "4090" for _, account in warehouse_trial_balance(ledger, "europe"))
    assert {currency for currency, _ in warehouse_trial_balance(ledger, "main")} == {"eur", "jpy", "usd"}


def test_each_bank_reconciliation_holds_exactly_its_own_accounts_payouts(packages, ledger):
    listed = {}
    for entity, package in packages.items():
        html_payouts = Counter(row.get("data-payout") for row in document(package).xpath("//table[@id='payouts']/tbody/tr"))
        _, *sheet = xlsx.read_rows(Path(package.workbook.location), "Payouts")
        assert Counter(payout for payout, *_ in sheet) == html_payouts
        listed[entity] = set(html_payouts)
        assert listed[entity] == bank_payouts(ledger, ACCOUNTS[entity])
        matched = {payout.payout_id for payout in package.data.payouts if payout.status == "matched"}
        assert matched and matched == {payout for (payout,) in query(
            ledger, "select payout_id from main.fct_payout_bank_matches as matches inner join raw.stripe_payouts as payouts on matches.payout_id = payouts.id "
            "where payouts.stripe_account_id = $1", [ACCOUNTS[entity]])}
        # The reconciliation's counts per currency and status add up the payouts listed.
        reconciliation = {(line.currency, line.status): (line.count, line.amount_minor) for line in package.data.reconciliation if line.status != "unmatched_bank_line"}
        standings = Counter()
        for payout in package.data.payouts:
            count, total = standings.get((payout.currency, payout.status), (0, 0))
            standings[(payout.currency, payout.status)] = (count + 1, total + payout.amount_minor)
        assert reconciliation == dict(standings)
        exception_payouts = {item.payout_id for item in package.data.exceptions if item.payout_id}
        assert exception_payouts and exception_payouts <= listed[entity]
    assert not listed["main"] & listed["europe"]


def test_bank_lines_without_payout_are_listed_once_as_unassigned_in_the_default_entitys_package(packages, ledger):
    unassigned = Counter(
        (currency, amount_minor) for currency, amount_minor in query(ledger, "select currency, amount_minor from main.fct_reconciliation_exceptions where exception_type = 'unmatched_bank_line'")
    )
    assert unassigned and query(ledger, "select count(*) from main.fct_reconciliation_exceptions where exception_type = 'unmatched_bank_line' and entity_id is not null") == [(0,)]
    main, europe = document(packages["main"]), document(packages["europe"])
    rows = main.xpath("//table[@id='exceptions']/tbody/tr[@data-kind='unmatched_bank_line']")
    assert Counter((row.get("data-currency"), amount(cells(row)[4], row.get("data-currency"))) for row in rows) == unassigned
    assert {cells(row)[0] for row in rows} == {"Bank line without payout (unassigned)"}
    assert not europe.xpath("//tr[@data-kind='unmatched_bank_line'] | //tr[@data-status='unmatched_bank_line']")
    assert "listed, as unassigned, in this package of the default entity" in main.xpath("string(//h2[.='Bank reconciliation']/following-sibling::p[1])")
    assert "the default entity's package (CLOSE_ENTITY_ID) lists them" in europe.xpath("string(//h2[.='Bank reconciliation']/following-sibling::p[1])")


def test_a_package_that_cannot_be_written_is_named_and_the_others_are_whole(ledger, tmp_path):
    (tmp_path / "main" / PERIOD).mkdir(parents=True)
    (tmp_path / "main" / PERIOD / "close_package").write_text("a file where main's package folder belongs")
    with pytest.raises(ClosePackageError, match=rf"close package\(s\) not written: entity 'main' period {PERIOD}: .*; written and published: europe {PERIOD}"):
        build_close_packages(ledger, Destination(directory=tmp_path), [PERIOD], "main")
    europe = tmp_path / "europe" / PERIOD / "close_package"
    assert {entry["name"] for entry in json.loads((europe / "manifest.json").read_text())["files"]} == {
        f"close_package_europe_{PERIOD}.html", f"close_package_europe_{PERIOD}.xlsx"}


def test_the_cli_narrows_to_one_entity_and_refuses_an_unknown_one(ledger, tmp_path):
    environment = {**os.environ, "CLOSE_WAREHOUSE": str(ledger), "CLOSE_EXPORT_DIR": str(tmp_path)}
    environment.pop("CLOSE_EXPORT_S3_URI", None)
    done = subprocess.run([STRIPE_CLOSE, "package", "--period", PERIOD, "--entity", "europe"], env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"europe {PERIOD}:\n") and "main" not in done.stdout
    assert [path.name for path in tmp_path.iterdir()] == ["europe"]
    refused = subprocess.run([STRIPE_CLOSE, "package", "--period", PERIOD, "--entity", "asia"], env=environment, capture_output=True, text=True, timeout=120)
    assert (refused.returncode, refused.stderr.strip()) == (2, "stripe-close package: no entity 'asia' in seeds/entities.csv; its entities are ['europe', 'main']")


def materialize(warehouse: Path, exports: Path, run_config: dict | None = None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [close_package], partition_key=PERIOD, run_config=run_config,
        resources={"warehouse": WarehouseResource(path=str(warehouse)), "exports": ExportResource(directory=str(exports), entity_id="main")},
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
    )


def test_the_asset_links_each_entitys_files_and_figures(ledger, tmp_path, monkeypatch):
    monkeypatch.delenv("CLOSE_EXPORT_S3_URI", raising=False)
    result = materialize(ledger, tmp_path)
    assert result.success
    [materialization] = result.asset_materializations_for_node("close_package")
    metadata = materialization.metadata
    assert metadata["entities"].value == ["europe", "main"]
    with duckdb.connect(str(ledger), read_only=True) as connection:
        for entity, account in ACCOUNTS.items():
            assert metadata[f"{entity} html"].path == str(tmp_path / entity / PERIOD / "close_package" / f"close_package_{entity}_{PERIOD}.html")
            assert Path(metadata[f"{entity} workbook"].path).exists()
            ending = dict(connection.execute(
                "select currency, net_amount_minor from main.rpt_stripe_balance_rollforward where entity_id = ? and period = ? and category = 'ending_balance'",
                [entity, PERIOD]).fetchall())
            matched = dict(connection.execute(
                "select matches.currency, count(distinct matches.payout_id) from main.fct_payout_bank_matches as matches "
                "inner join raw.stripe_payouts as payouts on matches.payout_id = payouts.id where payouts.stripe_account_id = ? group by all", [account]).fetchall())
            assert {currency: metadata[f"{entity} {currency}_stripe_ending_balance_minor"].value for currency in ending} == ending
            assert {currency: metadata[f"{entity} {currency}_payouts_matched"].value for currency in matched} == matched
            assert f"| {entity} | {PERIOD} | USD |" in metadata["headline"].value
    # Each entity's figures are its own: only main has JPY.
    assert "main jpy_stripe_ending_balance_minor" in metadata and not [key for key in metadata if key.startswith("europe jpy")]


def test_the_asset_config_narrows_to_one_entity(ledger, tmp_path, monkeypatch):
    monkeypatch.delenv("CLOSE_EXPORT_S3_URI", raising=False)
    result = materialize(ledger, tmp_path, {"ops": {"close_package": {"config": {"entity_id": "europe"}}}})
    assert result.success
    [materialization] = result.asset_materializations_for_node("close_package")
    assert materialization.metadata["entities"].value == ["europe"]
    assert [path.name for path in tmp_path.iterdir()] == ["europe"]


def test_an_entity_the_seed_lacks_fails_the_asset_by_name_and_writes_nothing(ledger, tmp_path, monkeypatch):
    monkeypatch.delenv("CLOSE_EXPORT_S3_URI", raising=False)
    broken = copy_ledger(ledger, tmp_path / "ledger")
    with duckdb.connect(str(broken)) as connection:
        connection.execute("delete from accounting.entities where entity_id = 'europe'")
    result = materialize(broken, tmp_path / "exports")
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert "entity(ies) ['europe'] have journal lines but no row in seeds/entities.csv" in failure.event_specific_data.error.message
    assert not (tmp_path / "exports").exists()
