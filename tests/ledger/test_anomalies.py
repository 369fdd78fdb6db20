"""The anomaly watch on the 180-day simulated worlds: each injected kind is flagged on its first day
with its explanation, the clean twin raises none, a metric switched off in the seed is silent, and
the Dagster asset sends one webhook message per day listing the day's flags (a real local server)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from ledger.anomalies.detection import evaluate, flags
from ledger.anomalies.metrics import compute_metrics
from ledger.anomalies.settings import load_settings
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
    "missing_ingestion_day": ("eur", "ingestion_completeness",
                              "EUR ingestion completeness (transactions per 8 hours against the usual shape) 0.00% on Fri 2026-08-28; "
                              "usual Fridays 90.33% ± 14.12% over 8 weeks"),
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


def test_the_clean_twin_raises_no_flag(worlds):
    evaluations = _evaluations(worlds["clean"])
    assert flags(evaluations).is_empty()
    # And it was judged, not skipped: every enabled family has usual days.
    judged = evaluations.filter(pl.col("status") == "usual")["family"].unique().sort().to_list()
    assert judged == ["balance", "disputes", "fees", "ingestion", "payouts", "reconciliation", "refunds", "suspense", "volume"]


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
        ":mag: stripe-close: 3 new anomalies on Thu 2026-07-30\n"
        "- main: USD dispute fees 60.00 on Thu 2026-07-30; usual Thursdays 0.00 ± 0.00 over 8 weeks\n"
        "- main: USD dispute rate 8.89% on Thu 2026-07-30; usual Thursdays 0.00% ± 0.00% over 8 weeks\n"
        "- main: USD dispute rate for US cards 10.71% on Thu 2026-07-30; usual Thursdays 0.00% ± 0.00% over 8 weeks"
    )
    assert not checks["anomalies_disputes"].passed
    assert checks["anomalies_disputes"].severity == dg.AssetCheckSeverity.WARN
    assert checks["anomalies_fees"].passed


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
