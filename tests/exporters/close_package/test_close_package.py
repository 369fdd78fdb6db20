"""The close package's numbers equal the ledger's: the HTML and the workbook are parsed back and every
trial balance line, roll-forward figure and reconciliation count and amount is compared with the
warehouse marts to the minor unit (three currencies, JPY among them); the charts are there."""

import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import boto3
import duckdb
import openpyxl
import pytest
import requests
from lxml import html as lxml_html

from exporters import xlsx
from exporters.publish import Destination
from ledger.money import parse_major, to_major
from exporters.close_package.close_data import CloseDataError
from exporters.close_package.package import build_close_packages
from tests.exporters.conftest import S3_ENVIRONMENT, moto_endpoint  # noqa: F401 (fixture)
from exporters.close_package.presentation import ROLLFORWARD_LABELS, STATUS_LABELS
from orchestration.defs.export.guard import blocking_proof_results
from tests.exporters.close_package.conftest import GENERATED_AT, PERIOD

pytestmark = pytest.mark.e2e

STRIPE_CLOSE = str(Path(sys.executable).with_name("stripe-close"))
# The world has no amount differences, so every status reads as its plain label.
STATUS_CODES = {label: code for code, label in STATUS_LABELS.items()}


@pytest.fixture(scope="module")
def marts(closed):
    """What the warehouse holds, queried here independently of the package's own queries."""
    with duckdb.connect(str(closed.settings.warehouse), read_only=True) as connection:
        def rows(sql):
            return connection.execute(sql).fetchall()

        exception_counts = rows("select currency, exception_type, count(*), sum(amount_minor) from main.fct_reconciliation_exceptions group by all")
        return {
            # The small world is one period, so the period's trial balance is the whole ledger's.
            "trial_balance": {
                (currency, account): (0, debit, credit, balance)
                for currency, account, debit, credit, balance in rows("select currency, account_code, debit_minor, credit_minor, balance_minor from main.rpt_trial_balance")
            },
            "rollforward": {
                (currency, category): amount
                for currency, category, amount in rows(f"select currency, category, net_amount_minor from main.rpt_stripe_balance_rollforward where period = '{PERIOD}'")
            },
            "reconciliation": {
                **{(currency, "matched"): (count, amount) for currency, count, amount in rows("select currency, count(distinct payout_id), sum(amount_minor) from main.fct_payout_bank_matches group by all")},
                **{(currency, "returned"): (count, amount) for currency, count, amount in rows("select currency, count(*), sum(amount_minor) from main.fct_payout_bank_returns group by all")},
                **{(currency, kind): (count, amount) for currency, kind, count, amount in exception_counts},
            },
            "exceptions": Counter(
                (kind, currency, payout or "", line or "", amount, age)
                for kind, currency, payout, line, amount, age in rows(
                    "select exception_type, currency, payout_id, bank_statement_line_id, amount_minor, age_business_days from main.fct_reconciliation_exceptions"
                )
            ),
            "daily_volume": dict(rows("select currency, sum(amount_minor) from main.stg_stripe__balance_transactions where reporting_category = 'charge' group by all")),
        }


def html_document(package):
    return lxml_html.fromstring(Path(package.html.location).read_bytes())


def table_rows(document, table_id: str) -> list:
    return document.xpath(f"//table[@id='{table_id}']/tbody/tr")


def cells(row) -> list[str]:
    return [cell.text_content().strip() for cell in row.findall("td")]


def test_the_world_has_jpy_beside_two_decimal_currencies(marts):
    assert {currency for currency, _ in marts["trial_balance"]} == {"eur", "jpy", "usd"}
    assert marts["reconciliation"][("jpy", "matched")][0] > 0 and marts["exceptions"]


def test_the_html_trial_balance_equals_the_ledger(package, marts):
    document = html_document(package)
    parsed = {}
    for table in document.xpath("//table[@class='trial-balance']"):
        currency = table.get("data-currency")
        for row in table.xpath("./tbody/tr"):
            account, _, _, *amounts = cells(row)
            parsed[(currency, account)] = tuple(parse_major(amount.replace(",", ""), currency) for amount in amounts)
        total = cells(table.xpath("./tfoot/tr")[0])
        assert parse_major(total[-1].replace(",", ""), currency) == 0  # each currency sums to zero
    assert parsed == marts["trial_balance"]


def test_the_html_rollforward_reconciliation_and_exceptions_equal_the_marts(package, marts):
    document = html_document(package)
    rollforward = {
        (row.get("data-currency"), row.get("data-category")): parse_major(cells(row)[2].replace(",", ""), row.get("data-currency"))
        for row in table_rows(document, "rollforward")
    }
    assert rollforward == marts["rollforward"] and len(rollforward) == 12
    reconciliation = {
        (row.get("data-currency"), row.get("data-status")): (int(cells(row)[2]), parse_major(cells(row)[3].replace(",", ""), row.get("data-currency")))
        for row in table_rows(document, "reconciliation")
    }
    assert reconciliation == marts["reconciliation"]
    exceptions = Counter()
    for row in table_rows(document, "exceptions"):
        _, currency, payout, line, amount, _, age = cells(row)
        exceptions[(row.get("data-kind"), currency.lower(), payout, line, parse_major(amount.replace(",", ""), currency), int(age))] += 1
    assert exceptions == marts["exceptions"]


def test_the_workbook_equals_the_ledger(package, marts):
    path = Path(package.workbook.location)
    header, *lines = xlsx.read_rows(path, "Trial balance")
    assert header == ("Currency", "Account", "Name", "Type", "Opening", "Debits", "Credits", "Closing")
    assert {(currency.lower(), account): tuple(amounts) for currency, account, _, _, *amounts in lines} == {
        key: tuple(to_major(amount, key[0]) for amount in amounts) for key, amounts in marts["trial_balance"].items()
    }
    _, *rollforward = xlsx.read_rows(path, "Roll-forward")
    category = {label: code for code, label in ROLLFORWARD_LABELS.items()}
    assert {(currency.lower(), category[label]): amount for currency, label, _, amount in rollforward} == {
        key: to_major(amount, key[0]) for key, amount in marts["rollforward"].items()
    }
    _, *reconciliation = xlsx.read_rows(path, "Reconciliation")
    assert {(currency.lower(), STATUS_CODES[label]): (int(count), amount) for currency, label, count, amount in reconciliation} == {
        key: (count, to_major(amount, key[0])) for key, (count, amount) in marts["reconciliation"].items()
    }
    summary = dict(xlsx.read_rows(path, "Summary")[1:])
    for currency in ("eur", "jpy", "usd"):
        assert summary[f"{currency.upper()} Stripe ending balance"] == to_major(marts["rollforward"][(currency, "ending_balance")], currency)
        assert summary[f"{currency.upper()} payouts matched"] == marts["reconciliation"][(currency, "matched")][0]
    _, *exceptions = xlsx.read_rows(path, "Exceptions")
    assert Counter(
        (STATUS_CODES[label], currency.lower(), payout or "", line or "", parse_major(str(amount), currency), int(age))
        for label, currency, payout, line, amount, _, age in exceptions
    ) == marts["exceptions"]


def test_jpy_amounts_have_no_decimals_and_usd_two(package):
    _, *lines = xlsx.read_rows(Path(package.workbook.location), "Trial balance")
    assert {amount.as_tuple().exponent for currency, *_, amount in lines if currency == "JPY"} == {0}
    assert {amount.as_tuple().exponent for currency, *_, amount in lines if currency == "USD"} == {-2}
    jpy_row = table_rows(html_document(package), "trial-balance-jpy")[0]
    assert all("." not in amount for amount in cells(jpy_row)[3:])


def test_the_html_charts_have_a_series_per_currency(package, marts):
    document = html_document(package)
    daily = [element.get("id") for element in document.xpath("//figure[@id='chart-daily-volume']//*[starts-with(@id, 'daily-volume-')]")]
    assert Counter(identifier.split("-")[2] for identifier in daily) == {"eur": 31, "jpy": 31, "usd": 31}
    by_age = [element.get("id") for element in document.xpath("//figure[@id='chart-unmatched-by-age']//*[starts-with(@id, 'unmatched-age-')]")]
    assert Counter(identifier.split("-")[2] for identifier in by_age) == {"eur": 6, "jpy": 6, "usd": 6}


def test_the_workbook_has_native_charts_over_the_ledgers_volume(package, marts):
    path = Path(package.workbook.location)
    workbook = openpyxl.load_workbook(path)
    daily_charts = workbook["Daily volume"]._charts
    assert [len(chart.series) for chart in daily_charts] == [1, 1, 1]
    assert [len(chart.series) for chart in workbook["Unmatched by age"]._charts] == [3]
    header, *days = xlsx.read_rows(path, "Daily volume")
    assert len(days) == 31
    for column, currency in enumerate(header[1:], start=1):
        assert sum(day[column] for day in days) == to_major(marts["daily_volume"][currency.lower()], currency)
    _, *ages = xlsx.read_rows(path, "Unmatched by age")
    in_transit = {currency: count for (currency, kind), (count, _) in marts["reconciliation"].items() if kind == "payout_in_transit"}
    assert {currency.lower(): int(sum(row[column] for row in ages)) for column, currency in enumerate(header[1:], start=1)} == in_transit


def test_the_html_is_self_contained(package):
    document = html_document(package)
    assert not document.xpath("//script | //link | //img | //iframe | //object")
    text = Path(package.html.location).read_text()
    assert "src=" not in text and not re.findall(r"url\((?!#)", text)  # only the SVG's own clip paths
    assert not [href for href in document.xpath("//@href") if not href.startswith("#")]


def test_a_rebuild_gives_the_same_bytes_and_manifest(closed, package):
    folder = Path(package.html.location).parent
    before = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.iterdir()}
    build_close_packages(closed.settings.warehouse, Destination(directory=folder.parents[2]), [PERIOD], "main",
                         proofs=blocking_proof_results(closed.instance), generated_at=GENERATED_AT, dagster_run_id="run-of-the-test")
    assert {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.iterdir()} == before
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (manifest["entity"], manifest["period"]) == ("main", PERIOD)
    assert {entry["name"] for entry in manifest["files"]} == {f"close_package_main_{PERIOD}.html", f"close_package_main_{PERIOD}.xlsx"}


def test_a_period_without_journal_lines_is_refused_by_name(closed, tmp_path):
    with pytest.raises(CloseDataError, match=r"no journal lines for any entity through period 2026-09; the ledger has periods: 2026-10"):
        build_close_packages(closed.settings.warehouse, Destination(directory=tmp_path), ["2026-09"], "main")
    with pytest.raises(CloseDataError, match=r"no journal lines for entity 'main' through period 2026-09; the ledger has periods: 2026-10"):
        build_close_packages(closed.settings.warehouse, Destination(directory=tmp_path), ["2026-09"], "main", "main")
    assert not any(tmp_path.iterdir())


def test_the_package_is_published_to_s3_with_download_links(closed, moto_endpoint, monkeypatch):
    for name, value in {"AWS_ENDPOINT_URL": moto_endpoint, **S3_ENVIRONMENT}.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3").create_bucket(Bucket="close-packages")
    [package] = build_close_packages(closed.settings.warehouse, Destination(s3_uri="s3://close-packages/books"), [PERIOD], "main")
    prefix = f"s3://close-packages/books/main/{PERIOD}/close_package/"
    assert [file.location for file in package.published] == [
        f"{prefix}close_package_main_{PERIOD}.html", f"{prefix}close_package_main_{PERIOD}.xlsx", f"{prefix}manifest.json",
    ]
    downloaded = requests.get(package.html.download_url, timeout=10)
    assert downloaded.ok and b"Close package: main, 2026-10" in downloaded.content


def test_the_cli_writes_the_package_and_refuses_a_bad_period(closed, tmp_path):
    environment = {**os.environ, "CLOSE_WAREHOUSE": str(closed.settings.warehouse), "CLOSE_EXPORT_DIR": str(tmp_path)}
    environment.pop("CLOSE_EXPORT_S3_URI", None)
    done = subprocess.run([STRIPE_CLOSE, "package", "--period", PERIOD], env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "main 2026-10:\n  EUR: Stripe ending balance" in done.stdout and "JPY: Stripe ending balance" in done.stdout
    assert (tmp_path / "main" / PERIOD / "close_package" / f"close_package_main_{PERIOD}.xlsx").exists()
    refused = subprocess.run([STRIPE_CLOSE, "package", "--period", "2026-9"], env=environment, capture_output=True, text=True, timeout=120)
    assert (refused.returncode, refused.stderr.strip()) == (
        2, "stripe-close package: argument --period: '2026-9' is not a month in the form YYYY-MM (e.g. 2026-10) (see stripe-close package --help)")
