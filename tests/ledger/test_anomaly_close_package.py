"""The close package's "Anomalies" section on the injected 180-day world (tests/ledger/conftest.py): the
period's flags with their explanations, values and baselines in the HTML and the workbook; per
currency the days judged, or in words why none were; "No anomalies flagged" only over judged days."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from lxml import html as lxml_html

from exporters.close_package.anomalies import ANOMALIES_SHEET, NOT_FROZEN
from exporters.close_package.close_data import load_close_data
from exporters.close_package.frozen_data import decode, encode
from exporters.close_package.package import build_close_packages
from exporters.publish import Destination
from ledger.anomalies.watch import watch

JULY = [date(2026, 7, 1) + timedelta(days=n) for n in range(31)]


@pytest.fixture(scope="module")
def watched(anomaly_worlds, tmp_path_factory):
    """A copy of the injected world whose anomaly watch ran over July (storing its 16 weeks of history)."""
    warehouse = tmp_path_factory.mktemp("watched") / "warehouse.duckdb"
    shutil.copyfile(anomaly_worlds["injected"], warehouse)
    watch(warehouse, JULY)
    return warehouse


@pytest.fixture(scope="module")
def july(watched, tmp_path_factory):
    [package] = build_close_packages(watched, Destination(directory=tmp_path_factory.mktemp("package")), ["2026-07"], "main",
                                     generated_at=datetime(2026, 8, 3, 9))
    return package


def test_the_periods_flags_are_listed_with_explanation_value_and_baseline(july):
    anomalies = july.data.anomalies
    fee_step = next(flag for flag in anomalies.flags if flag.metric == "fee_rate" and flag.day == date(2026, 7, 1))
    assert (fee_step.entity_id, fee_step.currency, fee_step.dimension, fee_step.value, fee_step.baseline, fee_step.explanation) == (
        "main", "usd", "stripe_fee", "3.52%", "3.02%",
        "USD stripe_fee fee rate 3.52% on Wed 2026-07-01; usual Wednesdays 3.02% ± 0.01% over 8 weeks")
    dispute_fees = next(flag for flag in anomalies.flags if flag.metric == "dispute_fees" and flag.day == date(2026, 7, 30))
    assert (dispute_fees.value, dispute_fees.baseline) == ("60.00", "0.00")  # money to the minor unit, in the currency's decimals
    assert {flag.day.month for flag in anomalies.flags} == {7}
    assert [item.describe() for item in anomalies.coverage] == [
        f"Anomaly watch judged {currency} on all 31 days" for currency in ("EUR", "JPY", "USD")]

    document = lxml_html.fromstring(Path(july.html.location).read_bytes())
    rows = document.xpath("//table[@id='anomalies']/tbody/tr")
    assert len(rows) == len(anomalies.flags)
    first = [cell.text_content().strip() for cell in rows[0].xpath("td")]
    assert first == ["2026-07-01", "main", "USD", "fee_rate (stripe_fee)",
                     "USD stripe_fee fee rate 3.52% on Wed 2026-07-01; usual Wednesdays 3.02% ± 0.01% over 8 weeks", "3.52%", "3.02%"]
    assert [item.text_content().strip() for item in document.xpath("//ul[@id='anomaly-coverage']/li")] == [
        item.describe() for item in anomalies.coverage]

    sheet = openpyxl.load_workbook(july.workbook.location)[ANOMALIES_SHEET]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == ["Day", "Entity", "Currency", "Metric", "Explanation", "Value", "Baseline"]
    assert values[1][1:] == first[1:] and values[1][0].date() == date(2026, 7, 1)
    assert [row[4] for row in values[-3:]] == [item.describe() for item in anomalies.coverage]


def test_a_period_the_watch_never_ran_on_says_not_evaluated_never_no_anomalies(watched):
    [september] = load_close_data(watched, "2026-09", "main", generated_at=datetime(2026, 10, 5))
    assert september.anomalies.flags == ()
    assert [item.describe() for item in september.anomalies.coverage] == [
        f"Anomaly watch not evaluated for {currency}: no close metrics stored for 2026-09 (the anomaly watch has not run on it)"
        for currency in ("EUR", "JPY", "USD")]
    assert september.anomalies.summary() == "Anomaly watch not evaluated: no day of the period was judged"


def test_too_little_history_is_said_with_the_days_needed(watched):
    # The world begins on Mon 2026-04-06: April's days have at most 24 days of history, 28 needed.
    [april] = load_close_data(watched, "2026-04", "main", generated_at=datetime(2026, 10, 5))
    assert [item.describe() for item in april.anomalies.coverage] == [
        f"Anomaly watch not evaluated for {currency}: no close metrics for 5 of its days (no data yet, or the anomaly watch "
        "has not run on them); 24 days of history, 28 needed" for currency in ("EUR", "JPY", "USD")]
    assert april.anomalies.flags == ()


def test_no_anomalies_flagged_only_over_judged_days_and_days_not_over_are_not_counted(watched):
    # May's history was stored by July's run and it is quiet; generated on 2026-05-20, only 19 days are over,
    # and the first three have less than four weeks of history (the world begins on 2026-04-06).
    [may] = load_close_data(watched, "2026-05", "main", generated_at=datetime(2026, 5, 20, 12))
    assert may.anomalies.flags == ()
    assert may.anomalies.summary() == "No anomalies flagged on the days judged"
    assert [item.describe() for item in may.anomalies.coverage] == [
        f"Anomaly watch judged {currency} on 16 of 19 days; not the others: 27 days of history, 28 needed" for currency in ("EUR", "JPY", "USD")]


def test_the_section_is_frozen_with_the_package_and_an_older_frozen_copy_says_it_has_none(july):
    # A locked period's package renders from this copy ever after (exporters/close_package/frozen.py).
    text = encode(july.data)
    assert decode(text).anomalies == july.data.anomalies
    older = json.loads(text)
    del older["anomalies"]
    assert decode(json.dumps(older)).anomalies == NOT_FROZEN
    assert NOT_FROZEN.summary() == "Anomaly watch not shown: this package was frozen at its lock by a version without it"
