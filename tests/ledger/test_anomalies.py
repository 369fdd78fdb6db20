"""The anomaly watch on the 180-day simulated worlds: each injected kind is flagged on its first day
with its explanation, the clean twin raises none, a metric switched off in the seed is silent, and
the Dagster asset sends one webhook message per day listing the day's flags (a real local server)
and plots the slices' numbers. The hourly ingestion completeness on a hand-built day."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from ledger.anomalies.detection import evaluate, flags, with_ingestion_completeness
from ledger.anomalies.metrics import SCHEMA, compute_metrics
from ledger.anomalies.settings import load_settings, read_settings_csv
from ledger.anomalies.watch import store_folder, watch
from ledger.dbt_build import load_configuration
from orchestration.defs.anomalies.assets import close_anomalies
from orchestration.defs.anomalies.jobs import watch_request
from orchestration.bench_anomalies import caught_on
from orchestration.defs.resources import WarehouseResource
from sandbox.anomaly_worlds import DRIFT_MINOR, InjectedAnomaly, anomaly_world
from tests.dbt.builders import project_copy

FIRST, LAST = date(2026, 4, 6), date(2026, 10, 2)
# kind -> (currency, metric, explanation of its flag on its first day)
EXPECTED = {
    "fee_rate_step": ("usd", "fee_rate", "USD stripe_fee fee rate 3.52% on Wed 2026-07-01; usual Wednesdays 3.02% ± 0.01% over 8 weeks"),
    "refund_spike": ("eur", "refund_rate", "EUR refund rate 84.74% on Tue 2026-07-14; usual Tuesdays 3.18% ± 2.42% over 8 weeks"),
    "dispute_wave": ("usd", "dispute_rate", "USD dispute rate 8.89% on Thu 2026-07-30; usual Thursdays 0.00% ± 0.00% over 8 weeks"),
    "bank_delay": ("eur", "unmatched_payouts",
                   "EUR payouts arrived but not on the bank statement 1 on Mon 2026-08-10; usual Mondays 0 ± 0 over 8 weeks"),
    "unclaimed_bank_line": ("usd", "unmatched_bank_lines",
                            "USD Stripe-looking bank lines matching no payout 1 on Wed 2026-08-19; usual Wednesdays 0 ± 0 over 8 weeks"),
    # USD's busy hours judged one by one (EUR's and JPY's quiet days as one bucket: test below).
    "missing_ingestion_day": ("usd", "ingestion_completeness",
                              "USD ingestion completeness (transactions per hour against the usual shape) 0.00% on Fri 2026-08-28; "
                              "usual Fridays 90.23% ± 4.49% over 8 weeks"),
    "balance_drift": ("jpy", "balance_drift", "JPY Stripe balance minus the ledger's Stripe clearing -39319 on Wed 2026-09-09; the day before -64319"),
}


@pytest.fixture(scope="module")
def worlds(anomaly_worlds) -> dict[str, Path]:
    return anomaly_worlds


def _evaluations(path: Path) -> pl.DataFrame:
    with duckdb.connect(str(path), read_only=True) as connection:
        return evaluate(compute_metrics(connection, FIRST, LAST), load_settings(connection))


@pytest.fixture(scope="module")
def injected_flags(worlds) -> pl.DataFrame:
    return flags(_evaluations(worlds["injected"]))


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_injected_anomaly_is_flagged_on_its_first_day_with_its_explanation(kind, injected_flags):
    anomaly = anomaly_world(True).anomaly(kind)
    currency, metric, explanation = EXPECTED[kind]
    on_day = injected_flags.filter(pl.col("day") == anomaly.start, pl.col("currency") == currency, pl.col("metric") == metric)
    assert on_day["explanation"].to_list() == [explanation]
    # Nothing of its kind before the first injection (later ones can move a metric: a missing day moves the drift).
    first_injection = min(a.start for a in anomaly_world(True).anomalies)
    assert injected_flags.filter(pl.col("day") < first_injection, pl.col("currency") == currency, pl.col("metric") == metric).is_empty()


def test_the_drift_flag_carries_the_injected_amount_to_the_minor_unit(worlds):
    evaluations = _evaluations(worlds["injected"])
    drift = anomaly_world(True).anomaly("balance_drift")
    [row] = evaluations.filter(pl.col("day") == drift.start, pl.col("currency") == "jpy", pl.col("metric") == "balance_drift").to_dicts()
    assert row["amount_minor"] - int(row["baseline"]) == DRIFT_MINOR


def test_an_unclaimed_bank_line_ages_per_bank_account_and_is_flagged_from_three_business_days(injected_flags, worlds):
    line = anomaly_world(True).anomaly("unclaimed_bank_line")
    ages = injected_flags.filter(pl.col("metric") == "unmatched_bank_lines_oldest_age_business_days")
    # Booked Wed 2026-08-19: 3 business days old on Sat 2026-08-22, the first day past the seed's threshold.
    first = ages.row(0, named=True)
    assert (first["day"], first["entity_id"], first["currency"], first["dimension"], first["explanation"]) == (
        date(2026, 8, 22), "(unassigned)", "usd", "USD-OPERATING-4410",
        "USD USD-OPERATING-4410 age of the oldest Stripe-looking bank line matching no payout 3.0 business days on Sat 2026-08-22; "
        "usual Saturdays 0.0 business days ± 0.0 business days over 8 weeks")
    assert ages["day"].min() > line.start
    # The series is per bank account: the EUR account's line of another Stripe account (day 2) ages on its own.
    evaluations = _evaluations(worlds["injected"])
    aged = evaluations.filter(pl.col("metric") == "unmatched_bank_lines_oldest_age_business_days", pl.col("day") == date(2026, 8, 24))
    assert dict(aged.select("dimension", "value").iter_rows()) == {"EUR-OPERATING-4410": 0.0, "JPY-OPERATING-4410": 0.0, "USD-OPERATING-4410": 3.0}


def test_the_missing_ingestion_day_is_flagged_in_every_currency(injected_flags):
    missing = injected_flags.filter(pl.col("metric") == "ingestion_completeness", pl.col("day") == date(2026, 8, 28))
    assert missing.select("currency", "explanation").rows() == [
        (currency, f"{currency.upper()} ingestion completeness (transactions per hour against the usual shape) 0.00% on Fri 2026-08-28; {usual}")
        for currency, usual in (("eur", "usual Fridays 100.00% ± 0.00% over 8 weeks"), ("jpy", "usual Fridays 100.00% ± 0.00% over 8 weeks"),
                                ("usd", "usual Fridays 90.23% ± 4.49% over 8 weeks"))]


def _hour_rows(day: date, counts: dict[int, int]) -> list[dict]:
    return [{"day": day, "entity_id": "main", "currency": "usd", "metric": "transactions_per_hour", "dimension": f"{hour:02d}h",
             "value": float(counts.get(hour, 0)), "amount_minor": None, "volume": 0} for hour in range(24)]


def test_quiet_hours_are_judged_together_and_busy_hours_one_by_one():
    # Four past Mondays: 10 transactions at 10h and at 11h (busy), and 3 scattered over quiet hours whose
    # own medians are below the seed's 3 an hour; then two Mondays to judge.
    mondays = [date(2026, 9, 7) + timedelta(weeks=n) for n in range(6)]
    quiet = [{1: 1, 2: 1, 3: 1}, {4: 1, 5: 1, 6: 1}] * 2
    history = [row for monday, scattered in zip(mondays, quiet) for row in _hour_rows(monday, {10: 10, 11: 10, **scattered})]
    # Three transactions in quiet hours never seen before: the quiet bucket's usual 3, not a lull per hour.
    usual_day = _hour_rows(mondays[4], {10: 10, 11: 10, 20: 1, 21: 1, 22: 1})
    # The 11h hour lost: a busy hour is not made up by the others.
    lost_hour = _hour_rows(mondays[5], {10: 12, 11: 0, 20: 1, 21: 1, 22: 1})
    metrics = pl.DataFrame(history + usual_day + lost_hour, schema=SCHEMA)
    completeness = with_ingestion_completeness(metrics, read_settings_csv()).filter(
        pl.col("metric") == "ingestion_completeness", pl.col("day").is_in(mondays[4:]))
    assert completeness.sort("day").select("day", "value", "volume").rows() == [(mondays[4], 1.0, 23), (mondays[5], 13 / 23, 23)]


def test_the_clean_twin_raises_no_flag(worlds):
    evaluations = _evaluations(worlds["clean"])
    flagged = flags(evaluations)
    print("clean twin flags per metric:", dict(flagged.group_by("metric").len().iter_rows()) or "none")
    assert flagged.is_empty()
    # And it was judged, not skipped: every enabled family has usual days, the completeness in every currency.
    judged = evaluations.filter(pl.col("status") == "usual")
    assert judged["family"].unique().sort().to_list() == [
        "balance", "disputes", "fees", "ingestion", "payouts", "reconciliation", "refunds", "suspense", "volume"]
    assert judged.filter(pl.col("metric") == "ingestion_completeness")["currency"].unique().sort().to_list() == ["eur", "jpy", "usd"]


def test_a_metric_switched_off_in_the_seed_is_silent(worlds, tmp_path):
    warehouse = tmp_path / "ledger" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(worlds["injected"], warehouse)
    project = project_copy(tmp_path / "project")
    seed = project / "seeds" / "anomaly_settings.csv"
    seed.write_text(seed.read_text().replace("fee_rate,true,", "fee_rate,false,"))
    load_configuration(warehouse, project_dir=project)
    result = watch(warehouse, [date(2026, 7, 1)])
    fee_rates = result.evaluations.filter(pl.col("metric") == "fee_rate", pl.col("currency") == "usd")
    assert set(fee_rates["status"]) == {"disabled"}
    assert result.flags.filter(pl.col("metric") == "fee_rate").is_empty()


def test_the_asset_sends_one_message_listing_the_days_flags_and_warns_per_family(worlds, webhook, tmp_path, monkeypatch):
    url, received = webhook
    monkeypatch.setenv("CLOSE_ALERT_WEBHOOK_URL", url)
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(worlds["injected"], warehouse)
    resources = {"warehouse": WarehouseResource(path=str(warehouse))}
    with dg.instance_for_test() as instance:
        result = dg.materialize([close_anomalies], partition_key="2026-07-30", resources=resources, instance=instance)
        checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
        again = dg.materialize([close_anomalies], partition_key="2026-07-30", resources=resources, instance=instance)
    assert result.success and again.success
    [message] = received  # one message for the day; the re-run sends nothing new
    assert message["text"] == (
        ":mag: stripe-close: 4 new anomalies on Thu 2026-07-30\n"
        "- main: USD dispute fees 60.00 on Thu 2026-07-30; usual Thursdays 0.00 ± 0.00 over 8 weeks\n"
        "- main: USD dispute rate 8.89% on Thu 2026-07-30; usual Thursdays 0.00% ± 0.00% over 8 weeks\n"
        "- main: USD dispute rate for CA cards 9.09% on Thu 2026-07-30; usual Thursdays 0.00% ± 0.00% over 8 weeks\n"
        "- main: USD dispute rate for US cards 8.70% on Thu 2026-07-30; usual Thursdays 0.00% ± 0.00% over 8 weeks"
    )
    assert not checks["anomalies_disputes"].passed
    assert checks["anomalies_disputes"].severity == dg.AssetCheckSeverity.WARN
    assert checks["anomalies_fees"].passed
    # The slices' numbers are plotted over the partitions like the currency's own.
    metadata = result.asset_materializations_for_node("close_anomalies")[0].metadata
    assert metadata["flags"].value == 4
    assert ("| 2026-07-30 | main | USD | dispute_rate | USD dispute rate 8.89% on Thu 2026-07-30; usual Thursdays 0.00% ± 0.00% over 8 weeks |"
            in metadata["flags_table"].value.splitlines())
    # The day's 45 USD charges and 4 disputes: 23 and 2 on US cards, 22 and 2 on CA cards.
    assert metadata["main_usd_dispute_rate_by_card_country_US"].value == pytest.approx(2 / 23)
    assert metadata["main_usd_dispute_rate_by_card_country_CA"].value == pytest.approx(2 / 22)
    assert metadata["main_usd_dispute_rate"].value == pytest.approx(4 / 45)
    assert metadata["main_usd_transaction_count_by_payment_method_card"].value == 45


def test_a_successful_ledger_run_is_watched_for_the_same_days():
    one_day = dg.DagsterRun(job_name="ledger_close_job", tags={"dagster/partition": "2026-10-05"})
    days = dg.DagsterRun(job_name="ledger_close_job", tags={
        "dagster/asset_partition_range_start": "2026-10-01", "dagster/asset_partition_range_end": "2026-10-31"})
    whole = dg.DagsterRun(job_name="ledger_close_job")
    single, ranged, skipped = watch_request(one_day), watch_request(days), watch_request(whole)
    assert (single.partition_key, single.run_key) == ("2026-10-05", f"anomalies-{one_day.run_id}")
    assert ranged.tags == {"dagster/asset_partition_range_start": "2026-10-01", "dagster/asset_partition_range_end": "2026-10-31"}
    assert skipped.skip_message == f"ledger run {whole.run_id} has no days (a run without a partition): nothing to watch"


def test_a_day_still_running_is_shown_not_judged(worlds, tmp_path):
    # The continuous close builds today every hour: a half day's counts are not a drop.
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(worlds["injected"], warehouse)
    result = watch(warehouse, [date(2026, 7, 29), date(2026, 7, 30)], today=date(2026, 7, 30))
    today = result.evaluations.filter(pl.col("day") == date(2026, 7, 30))
    assert set(today["status"]) == {"not evaluated: the day is not over"}
    assert date(2026, 7, 30) not in result.flags["day"].to_list()
    assert today.filter(pl.col("metric") == "dispute_rate", pl.col("currency") == "usd", pl.col("entity_id") == "main")["value"].to_list() == [pytest.approx(4 / 45)]
    # Its partial metrics are not kept as history; the finished day before is.
    assert sorted(path.name for path in store_folder(warehouse).glob("2026-07-*.parquet"))[-1] == "2026-07-29.parquet"


def test_the_bench_counts_a_catch_on_the_first_day_or_the_next_business_day_in_the_currency():
    friday = InjectedAnomaly("bank_delay", date(2026, 8, 28), "eur", ("unmatched_payouts",))

    def flagged(day: date, currency: str = "eur", metric: str = "unmatched_payouts") -> pl.DataFrame:
        return pl.DataFrame({"day": [day], "currency": [currency], "metric": [metric]})

    assert caught_on(friday, flagged(date(2026, 8, 31))) == date(2026, 8, 31)  # Monday: the next business day
    assert caught_on(friday, flagged(date(2026, 9, 1))) is None  # Tuesday: too late
    assert caught_on(friday, flagged(date(2026, 8, 28), currency="usd")) is None
    assert caught_on(friday, flagged(date(2026, 8, 28), metric="fee_rate")) is None


def test_comparing_with_stl_without_statsmodels_is_one_line_and_exit_2(capsys, monkeypatch):
    import importlib.util

    from orchestration import cli

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "statsmodels" else real_find_spec(name, *a))
    assert cli.main(["bench", "anomalies", "--compare-stl"]) == 2
    assert capsys.readouterr().err == (
        "stripe-close: --compare-stl needs statsmodels, which the project does not depend on: pip install statsmodels\n")
