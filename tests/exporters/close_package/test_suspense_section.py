"""The close package lists every suspense posting of the entity through the period, with its reason
and its age at the period's end, in the HTML file and the workbook, amounts to the minor unit; and
says "none" when there are none. The ledger is landed by hand and built by a real dbt build."""

from datetime import date

import openpyxl
import pytest
from lxml import html as lxml_html

from exporters.close_package.package import build_close_packages
from exporters.publish import Destination
from ledger.money import parse_major
from tests.dbt.builders import build, land, transaction, ts
from tests.dbt.test_suspense_postings import CHARGE, OTHER_ADJUSTMENT, UNMAPPED, csv_line

RULE_LINE = csv_line("reporting_category,other_adjustment,")
OTHER_REASON = f"mapped to suspense by rule {RULE_LINE - 1} (gl_mapping_rules.csv line {RULE_LINE})"
UNMAPPED_REASON = "unmapped reporting_category mystery_category / type mystery_type"
# Within the period: aged at its last day (2026-10-31), the period being over by the build's day.
EXPECTED = [
    ("txn_other_adjustment", "2026-10-05", "USD", 1_234, OTHER_REASON, (date(2026, 10, 31) - date(2026, 10, 5)).days),
    ("txn_mystery", "2026-10-20", "EUR", -5_678, UNMAPPED_REASON, (date(2026, 10, 31) - date(2026, 10, 20)).days),
]


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """October's and September's packages of a ledger with two suspense postings in October."""
    path = tmp_path_factory.mktemp("suspense-ledger") / "warehouse.duckdb"
    land(path, transactions=[CHARGE, OTHER_ADJUSTMENT, UNMAPPED, transaction("txn_october_charge", "charge", "charge", 4_000, created=ts("2026-10-10"))])
    build(path)
    built = build_close_packages(path, Destination(directory=tmp_path_factory.mktemp("packages")), ["2026-09", "2026-10"], "main")
    return {package.data.period: package for package in built}


def html_rows(package) -> list[list[str]]:
    document = lxml_html.fromstring(open(package.html.location, "rb").read())
    return [[cell.text_content().strip() for cell in row.xpath("td")] for row in document.xpath("//table[@id='suspense-postings']/tbody/tr")]


def sheet_rows(package) -> list[tuple]:
    sheet = openpyxl.load_workbook(package.workbook.location)["Suspense"]
    return [tuple(row) for row in sheet.iter_rows(min_row=2, values_only=True)]


def minor(text: str, currency: str) -> int:
    return parse_major(text.replace(",", ""), currency.lower())


def test_the_html_lists_each_posting_with_reason_and_age(packages):
    rows = html_rows(packages["2026-10"])
    assert [(r[0], r[1], r[2], minor(r[3], r[2]), r[4], int(r[5])) for r in rows] == [
        (txn, day, currency, amount, reason, age) for txn, day, currency, amount, reason, age in EXPECTED]


def test_the_workbook_lists_each_posting_with_reason_and_age(packages):
    rows = sheet_rows(packages["2026-10"])
    assert [(r[0], r[1].date().isoformat(), r[2], minor(str(r[3]), r[2]), r[4], r[5]) for r in rows] == [
        (txn, day, currency, amount, reason, age) for txn, day, currency, amount, reason, age in EXPECTED]


def test_a_period_without_suspense_postings_says_none(packages):
    september = packages["2026-09"]
    assert html_rows(september) == [["None: nothing is booked to suspense through 2026-09."]]
    assert sheet_rows(september) == [("None: nothing is booked to suspense through 2026-09.", None, None, None, None, None)]


def test_the_balance_comparison_is_shown_as_not_evaluated_without_a_snapshot(packages):
    """The ledger has no Stripe balance snapshot (a backfill): the package says the comparison of
    Stripe clearing with Stripe's balance was not evaluated, per currency, never shows it as done."""
    october = packages["2026-10"]
    document = lxml_html.fromstring(open(october.html.location, "rb").read())
    assert [item.text_content().strip() for item in document.xpath("//ul[@id='balance-snapshot']/li")] == [
        "EUR: not evaluated: no Stripe balance snapshot covers 2026-10-20; run up to now or use the roll-forward",
        "USD: not evaluated: no Stripe balance snapshot covers 2026-10-10; run up to now or use the roll-forward",
    ]
    summary = dict(row[:2] for row in openpyxl.load_workbook(october.workbook.location)["Summary"].iter_rows(min_row=2, values_only=True))
    assert summary["EUR Stripe clearing = Stripe balance"] == "not evaluated: no Stripe balance snapshot covers 2026-10-20; run up to now or use the roll-forward"
    assert summary["USD Stripe clearing = Stripe balance"] == "not evaluated: no Stripe balance snapshot covers 2026-10-10; run up to now or use the roll-forward"


def test_the_clearing_tie_out_is_not_evaluated_without_a_snapshot(packages):
    """No snapshot, no other side: the tie-out says why instead of comparing with zero."""
    document = lxml_html.fromstring(open(packages["2026-10"].html.location, "rb").read())
    shown = {
        row.get("data-currency"): row.xpath("td")[-1].text_content()
        for row in document.xpath("//table[contains(@class, 'tie-outs')]/tbody/tr[@data-control='stripe_clearing']")
    }
    assert shown == {
        "eur": "not evaluated: no Stripe balance snapshot covers 2026-10-20; run up to now or use the roll-forward",
        "usd": "not evaluated: no Stripe balance snapshot covers 2026-10-10; run up to now or use the roll-forward",
    }
    rows = openpyxl.load_workbook(packages["2026-10"].workbook.location)["Tie-outs"].iter_rows(min_row=2, values_only=True)
    assert {(row[0], row[5], row[6]) for row in rows if row[1] == "Stripe clearing = Stripe balance"} == {
        (currency.upper(), problem, problem) for currency, problem in shown.items()}
