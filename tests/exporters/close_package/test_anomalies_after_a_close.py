"""`stripe-close run` runs the anomaly watch with the ledger (close_anomalies is one of the daily
assets orchestration.close_run materializes, the engine of `stripe-close run` and `demo`): after
the suite's one close of the small world (tests/conftest.py, 12 days from 2026-10-01), the watch
stored its days, its checks say why nothing was judged, and the package's Anomalies section gives
that real reason, never "the anomaly watch has not run"."""

from ledger.anomalies.catalogue import FAMILIES
from ledger.anomalies.watch import store_folder

WATCHED_DAYS = [f"2026-10-{day:02d}.parquet" for day in range(1, 13)]


def test_the_close_runs_the_watch_and_stores_its_days(closed):
    stored = sorted(path.name for path in store_folder(closed.settings.warehouse).glob("2026-10-*.parquet"))
    assert stored == WATCHED_DAYS
    # Twelve days are too few for a weekday baseline: each family warns "not evaluated", never passes.
    warnings = dict(closed.result.warnings)
    assert {family: warnings[f"anomalies_{family}"].startswith("not evaluated: ") for family in FAMILIES} == dict.fromkeys(FAMILIES, True)
    assert "of 4 past values needed" in warnings["anomalies_volume"]
    assert not any(check.startswith("anomalies_") for check in closed.result.passed_checks)


def test_the_package_says_the_watch_judged_no_day_for_want_of_history(package):
    anomalies = package.data.anomalies
    assert anomalies.flags == ()
    assert [item.describe() for item in anomalies.coverage] == [
        f"Anomaly watch not evaluated for {currency}: no close metrics for 19 of its days (no data yet, or the anomaly watch has "
        "not run on them); 11 days of history, 28 needed" for currency in ("EUR", "JPY", "USD")]
    assert anomalies.summary() == "Anomaly watch not evaluated: no day of the period was judged"
