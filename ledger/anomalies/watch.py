"""One run of the anomaly watch: the days' metrics (kept per day beside the warehouse), judged.

Metrics of past days are kept as one parquet file per day in `<warehouse folder>/close_metrics/`,
so a daily run computes only its own days from the warehouse and reads the baseline's weeks from
disk; days missing there (a first run, a new warehouse) are computed once, in one pass. The
warehouse is opened read-only. Files are written whole under a temporary name and renamed, so an
interrupted run leaves no half-written day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl

from ledger.anomalies.detection import evaluate, flags
from ledger.anomalies.metrics import SCHEMA, compute_metrics
from ledger.anomalies.settings import load_settings

STORE_FOLDER = "close_metrics"


@dataclass(frozen=True)
class WatchResult:
    days: tuple[date, ...]
    metrics: pl.DataFrame  # the run's days and the history their baselines read
    evaluations: pl.DataFrame  # one row per series and day of `days`

    @property
    def flags(self) -> pl.DataFrame:
        return flags(self.evaluations)


def store_folder(warehouse: Path) -> Path:
    return Path(warehouse).resolve().parent / STORE_FOLDER


def history_days(settings: pl.DataFrame) -> int:
    """Days of metrics a judgement reads: the baseline's weeks, and those of the ingestion
    completeness values it compares with (each has its own weekday baseline)."""
    return 2 * 7 * int(settings["history_weeks"].max() or 8)


def watch(warehouse: Path, days: list[date], timezone: str = "UTC", today: date | None = None) -> WatchResult:
    """Compute the metrics of `days` (and any missing history), store them, judge `days`; `today`
    (in the reporting time zone) and later days are still running, so they are shown, not judged."""
    days = sorted(days)
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        settings = load_settings(connection)
        first = days[0] - timedelta(days=history_days(settings))
        folder = store_folder(warehouse)
        wanted = [first + timedelta(days=n) for n in range((days[-1] - first).days + 1)]
        to_compute = sorted(set(days) | {day for day in wanted if not _day_file(folder, day).exists()})
        computed = compute_metrics(connection, to_compute[0], to_compute[-1], timezone)
    # One pass covers the first day to compute through the last: every day in it is stored afresh,
    # except a day still running, whose partial counts must never become a later day's history.
    covered = [to_compute[0] + timedelta(days=n) for n in range((to_compute[-1] - to_compute[0]).days + 1)]
    _store(folder, computed, [day for day in covered if today is None or day < today])
    stored = [pl.read_parquet(_day_file(folder, day)) for day in wanted if day < covered[0]]
    metrics = pl.concat([computed.filter(pl.col("day") >= first), *stored]).cast(SCHEMA)
    return WatchResult(tuple(days), metrics, evaluate(metrics, settings, days, running_from=today))


def _day_file(folder: Path, day: date) -> Path:
    return folder / f"{day.isoformat()}.parquet"


def _store(folder: Path, metrics: pl.DataFrame, days: list[date]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    by_day = {key[0]: frame for key, frame in metrics.partition_by("day", as_dict=True).items()}
    for day in days:
        path = _day_file(folder, day)
        partial = path.with_suffix(".parquet.partial")
        by_day.get(day, pl.DataFrame(schema=SCHEMA)).write_parquet(partial)
        partial.replace(path)
