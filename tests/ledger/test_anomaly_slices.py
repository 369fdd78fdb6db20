"""Slices and late facts of the anomaly watch, on the 180-day worlds (tests/ledger/conftest.py): a
refund spike on one card country is flagged naming the slice, small slices are not judged, a slice
switched off is silent; late facts recompute and re-judge the days they reach, and the asset alerts
only their new flags (a real local webhook)."""

from __future__ import annotations

import shutil
from datetime import date

import dagster as dg
import duckdb
import polars as pl
import pytest

from ledger.anomalies.alerted import new_flags, record_alerted
from ledger.anomalies.detection import evaluate, flags
from ledger.anomalies.metrics import compute_metrics
from ledger.anomalies.settings import load_settings
from ledger.anomalies.watch import store_folder, watch
from orchestration.defs.anomalies.assets import close_anomalies
from orchestration.defs.resources import WarehouseResource
from sandbox.anomaly_worlds import anomaly_world
from tests.dbt.builders import land, transaction, ts

FIRST, LAST = date(2026, 4, 6), date(2026, 10, 2)


def _evaluations(path, settings: pl.DataFrame | None = None) -> pl.DataFrame:
    with duckdb.connect(str(path), read_only=True) as connection:
        return evaluate(compute_metrics(connection, FIRST, LAST), load_settings(connection) if settings is None else settings)


@pytest.fixture(scope="module")
def injected(anomaly_worlds) -> pl.DataFrame:
    return _evaluations(anomaly_worlds["injected"])


def test_a_refund_spike_on_one_card_country_is_flagged_naming_the_slice(injected):
    spike = anomaly_world(True).anomaly("card_country_refund_spike")
    on_day = flags(injected).filter(pl.col("day") == spike.start, pl.col("metric") == "refund_rate_by_card_country")
    assert on_day.select("currency", "dimension", "explanation").rows() == [
        ("usd", "CA", "USD refund rate for CA cards 34.97% on Wed 2026-09-23; usual Wednesdays 2.06% ± 2.09% over 8 weeks")]
    # The other USD card country, the same day, is usual.
    us = injected.filter(pl.col("day") == spike.start, pl.col("metric") == "refund_rate_by_card_country", pl.col("dimension") == "US")
    assert us["status"].to_list() == ["usual"]


def test_a_slice_holding_all_of_the_days_charges_does_not_repeat_the_currencys_flag(injected):
    # Every charge of the simulated merchant is a card: the `card` payment method slice is the currency.
    card = injected.filter(pl.col("metric") == "dispute_rate_by_payment_method", pl.col("dimension") == "card",
                           pl.col("currency") == "usd", pl.col("day") == anomaly_world(True).anomaly("dispute_wave").start)
    assert card["status"].to_list() == ["not evaluated: the slice is all of the day's charges (the currency's own metric judges them)"]
    assert flags(injected).filter(pl.col("metric").str.ends_with("_by_payment_method")).is_empty()


def test_a_small_card_country_is_not_judged_and_the_clean_twin_has_no_slice_flag(anomaly_worlds):
    clean = _evaluations(anomaly_worlds["clean"])
    slices = clean.filter(pl.col("metric").str.contains("_by_"))
    assert flags(slices).is_empty()
    # Judged where the slice has the seed's minimum volume (20 charges) ...
    assert slices.filter(pl.col("metric") == "refund_rate_by_card_country", pl.col("dimension") == "CA", pl.col("status") == "usual").height > 60
    # ... and never for a country with a handful of charges a day (FR: about 5).
    fr = slices.filter(pl.col("metric") == "refund_rate_by_card_country", pl.col("dimension") == "FR")
    assert fr.filter(pl.col("status").is_in(["usual", "flagged"])).is_empty()
    assert fr.filter(pl.col("day") == date(2026, 9, 23))["status"].to_list() == ["not evaluated: 6 charges, fewer than 20"]


def test_a_slice_switched_off_in_the_seed_is_silent(anomaly_worlds):
    with duckdb.connect(str(anomaly_worlds["injected"]), read_only=True) as connection:
        settings = load_settings(connection)
    off = settings.with_columns(is_enabled=pl.when(pl.col("metric") == "refund_rate_by_card_country").then(False).otherwise(pl.col("is_enabled")))
    evaluations = _evaluations(anomaly_worlds["injected"], off)
    assert set(evaluations.filter(pl.col("metric") == "refund_rate_by_card_country")["status"]) == {"disabled"}
    assert flags(evaluations).filter(pl.col("metric") == "refund_rate_by_card_country").is_empty()
    # The currency's own refund rate still speaks for the day.
    assert flags(evaluations).filter(pl.col("day") == date(2026, 9, 23), pl.col("metric") == "refund_rate")["currency"].to_list() == ["usd"]


def test_late_facts_recompute_and_rejudge_their_day_and_alert_only_the_new_flag(anomaly_worlds, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(anomaly_worlds["injected"], warehouse)
    wave = date(2026, 7, 30)
    first = watch(warehouse, [wave])
    sent = first.flags.filter(pl.col("day") == wave)
    assert sorted(sent.filter(pl.col("dimension") == "")["metric"]) == ["dispute_fees", "dispute_rate"]
    record_alerted(store_folder(warehouse), wave, sent)  # what the asset records once the webhook took them

    # Refunds of 2026-07-30 land a day later: large enough to be a refund spike of that day.
    late = [transaction(f"txn_late_refund_{n}", "refund", "refund", -40_000, created=ts("2026-07-30", 15)) for n in range(4)]
    land(warehouse, late)
    later = watch(warehouse, [date(2026, 7, 31)])

    rejudged = later.rejudged.filter(pl.col("day") == wave, pl.col("currency") == "usd", pl.col("metric") == "refund_rate")
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        [(gross, refunded)] = connection.execute("""
            select sum(amount_minor) filter (where reporting_category = 'charge'), -sum(amount_minor) filter (where reporting_category = 'refund')
            from stg_stripe__balance_transactions where currency = 'usd' and cast(created_at as date) = '2026-07-30'""").fetchall()
    assert rejudged["value"].to_list() == [pytest.approx(refunded / gross)]
    assert rejudged["status"].to_list() == ["flagged"]
    stored = pl.read_parquet(store_folder(warehouse) / "2026-07-30.parquet")
    assert stored.filter(pl.col("currency") == "usd", pl.col("metric") == "refund_rate")["value"].to_list() == [pytest.approx(refunded / gross)]
    # Alerting the re-judged day repeats none of the flags already sent: only the refund spike is new.
    fresh = new_flags(store_folder(warehouse), wave, later.rejudged_flags.filter(pl.col("day") == wave))
    assert fresh.filter(pl.col("dimension") == "")["metric"].to_list() == ["refund_rate"]
    assert not set(fresh["metric"]) & {"dispute_fees", "dispute_rate"}
    # A run with nothing new since recomputes nothing earlier.
    assert watch(warehouse, [date(2026, 7, 31)]).rejudged.is_empty()


def test_the_asset_alerts_a_rejudged_day_once_with_only_its_new_flags(anomaly_worlds, webhook, tmp_path, monkeypatch):
    url, received = webhook
    monkeypatch.setenv("CLOSE_ALERT_WEBHOOK_URL", url)
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(anomaly_worlds["injected"], warehouse)
    resources = {"warehouse": WarehouseResource(path=str(warehouse))}
    with dg.instance_for_test() as instance:
        assert dg.materialize([close_anomalies], partition_key="2026-07-30", resources=resources, instance=instance).success
        land(warehouse, [transaction(f"txn_late_refund_{n}", "refund", "refund", -40_000, created=ts("2026-07-30", 15)) for n in range(4)])
        later = dg.materialize([close_anomalies], partition_key="2026-07-31", resources=resources, instance=instance)
    assert later.success
    [materialization] = later.asset_materializations_for_node("close_anomalies")
    assert materialization.metadata["rejudged_days"].value == "2026-07-30"
    headers = [message["text"].splitlines()[0] for message in received]
    assert headers[0] == ":mag: stripe-close: 4 new anomalies on Thu 2026-07-30"
    # The day's second message lists only what the late refunds added: none of the four already sent.
    [again] = [message["text"] for message in received[1:] if message["text"].splitlines()[0].endswith("on Thu 2026-07-30")]
    lines = again.splitlines()[1:]
    assert lines and all(" refund rate " in line for line in lines)
    assert any(line.startswith("- main: USD refund rate ") for line in lines)
    assert not [line for line in lines if "dispute" in line]


def test_a_day_stored_without_its_computation_time_is_recomputed_once(anomaly_worlds, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(anomaly_worlds["injected"], warehouse)
    watch(warehouse, [date(2026, 7, 30)])
    # As an earlier version stored it: the same metrics, no computed_at in the file's metadata.
    older = store_folder(warehouse) / "2026-07-29.parquet"
    pl.read_parquet(older).write_parquet(older)
    assert watch(warehouse, [date(2026, 7, 31)]).rejudged["day"].unique().to_list() == [date(2026, 7, 29)]
    assert watch(warehouse, [date(2026, 7, 31)]).rejudged.is_empty()
