"""One run of the anomaly watch: the days' metrics (kept per day beside the warehouse), judged.

Metrics of past days are kept as one parquet file per day in `<warehouse folder>/close_metrics/`,
so a daily run computes only its own days from the warehouse and reads the baseline's weeks from
disk; days missing there (a first run, a new warehouse) are computed once, in one pass. The
warehouse is opened read-only. Files are written whole under a temporary name and renamed, so an
interrupted run leaves no half-written day.

Late facts: each stored day records when its metrics were computed (`computed_at` in the parquet
file's metadata: the time the run began, before it read anything). A run also recomputes every stored day of its window on or
after the date of a fact landed since that day was computed (`_loaded_at` of the raw tables: a
charge, refund or dispute and its balance transaction by creation day, a payout by arrival, a
balance snapshot by its day, a bank line by its booking day or its payout's arrival), because
counts, rates and the balance drift of that day and, cumulative, of the days after it moved.
Those days are judged again (`WatchResult.rejudged`); the webhook sends only their flags not sent
before (alerted.py), so a flag already sent is never repeated and one the late facts explain away
simply drops from the package. A day stored by a version without `computed_at` is recomputed once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from ledger.anomalies.detection import evaluate, flags
from ledger.anomalies.metrics import SCHEMA, UNMATCHED_LOOKBACK_DAYS, compute_metrics, local_timestamp
from ledger.anomalies.settings import load_settings

STORE_FOLDER = "close_metrics"
COMPUTED_AT = "computed_at"


@dataclass(frozen=True)
class WatchResult:
    days: tuple[date, ...]
    metrics: pl.DataFrame  # the run's days and the history their baselines read
    evaluations: pl.DataFrame  # one row per series and day of `days`
    # Earlier days recomputed for facts that landed after they were judged, judged again (same columns).
    rejudged: pl.DataFrame

    @property
    def flags(self) -> pl.DataFrame:
        return flags(self.evaluations)

    @property
    def rejudged_flags(self) -> pl.DataFrame:
        return flags(self.rejudged)


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
    started = datetime.now(UTC).replace(tzinfo=None)
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        settings = load_settings(connection)
        first = days[0] - timedelta(days=history_days(settings))
        folder = store_folder(warehouse)
        wanted = [first + timedelta(days=n) for n in range((days[-1] - first).days + 1)]
        stored = {day: pl.read_parquet(_day_file(folder, day)) for day in wanted if day not in days and _day_file(folder, day).exists()}
        stale = _stale_days(connection, {day: _computed_at(_day_file(folder, day)) for day in stored}, timezone)
        to_compute = sorted(set(days) | stale | {day for day in wanted if day not in stored})
        computed = compute_metrics(connection, to_compute[0], to_compute[-1], timezone)
    # One pass covers the first day to compute through the last: every day in it is stored afresh,
    # except a day still running, whose partial counts must never become a later day's history.
    covered = [to_compute[0] + timedelta(days=n) for n in range((to_compute[-1] - to_compute[0]).days + 1)]
    _store(folder, computed, [day for day in covered if today is None or day < today], started)
    kept = [frame.select(list(SCHEMA)) for day, frame in stored.items() if day < covered[0]]
    metrics = pl.concat([computed.filter(pl.col("day") >= first), *kept]).cast(SCHEMA)
    rejudged = sorted(stale - set(days))
    return WatchResult(tuple(days), metrics, evaluate(metrics, settings, days, running_from=today),
                       evaluate(metrics, settings, rejudged, running_from=today))


def stored_judgement(connection: duckdb.DuckDBPyConnection, warehouse: Path, days: list[date]) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The stored metrics of `days` judged as the watch judges them, computing nothing (the close
    package shows what the watch saw): (settings, the metrics read, with their history, the
    evaluations). A day without stored metrics has no rows."""
    settings = load_settings(connection)
    first = days[0] - timedelta(days=history_days(settings))
    folder = store_folder(warehouse)
    files = [_day_file(folder, first + timedelta(days=n)) for n in range((days[-1] - first).days + 1)]
    frames = [pl.read_parquet(path).select(list(SCHEMA)) for path in files if path.exists()]
    metrics = pl.concat(frames).cast(SCHEMA) if frames else pl.DataFrame(schema=SCHEMA)
    return settings, metrics, evaluate(metrics, settings, days)


def _computed_at(path: Path) -> datetime:
    """When a stored day was computed (the file's metadata, so a day without rows has it too); a day
    stored before this was recorded counts as computed never."""
    recorded = pl.read_parquet_metadata(path).get(COMPUTED_AT)
    return datetime.fromisoformat(recorded) if recorded else datetime.min


def _stale_days(connection: duckdb.DuckDBPyConnection, computed_at: dict[date, datetime], timezone: str) -> set[date]:
    """Stored days computed before a fact of theirs or of an earlier day of the window landed."""
    if not computed_at:
        return set()
    since, first = min(computed_at.values()), min(computed_at)
    created = local_timestamp("created", timezone)
    landed = connection.sql(f"""
        with facts as (
            select cast({created} as date) as day, _loaded_at from raw.stripe_balance_transactions where _loaded_at > $1 and created >= $2
            union all
            select cast({created} as date), _loaded_at from raw.stripe_charges where _loaded_at > $1 and created >= $2
            union all
            select cast({created} as date), _loaded_at from raw.stripe_refunds where _loaded_at > $1 and created >= $2
            union all
            select cast({created} as date), _loaded_at from raw.stripe_disputes where _loaded_at > $1 and created >= $2
            union all
            select cast(arrival_date as date), _loaded_at from raw.stripe_payouts where _loaded_at > $1 and arrival_date >= $2
            union all
            select cast({local_timestamp("as_of", timezone)} - interval 1 microsecond as date), _loaded_at
            from raw.stripe_balance_snapshots where _loaded_at > $1 and as_of >= $2
            union all
            select least(lines.booking_date, min(payouts.arrival_date)), any_value(lines._loaded_at)
            from raw.bank_statement_lines as lines
            left join fct_payout_bank_matches as matches on matches.bank_statement_line_id = lines.bank_statement_line_id
            left join stg_stripe__payouts as payouts on payouts.payout_id = matches.payout_id
            where lines._loaded_at > $1 and lines.booking_date >= $3
            group by lines.bank_statement_line_id, lines.booking_date
        )
        select day, max(_loaded_at) as loaded_at from facts group by day
    """, params=[since, first - timedelta(days=1), first - timedelta(days=UNMATCHED_LOOKBACK_DAYS)]).fetchall()
    return {day for day, at in computed_at.items() if any(fact_day <= day and loaded_at > at for fact_day, loaded_at in landed)}


def _day_file(folder: Path, day: date) -> Path:
    return folder / f"{day.isoformat()}.parquet"


def _store(folder: Path, metrics: pl.DataFrame, days: list[date], computed_at: datetime) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    by_day = {key[0]: frame for key, frame in metrics.partition_by("day", as_dict=True).items()}
    for day in days:
        path = _day_file(folder, day)
        partial = path.with_suffix(".parquet.partial")
        by_day.get(day, pl.DataFrame(schema=SCHEMA)).write_parquet(partial, metadata={COMPUTED_AT: computed_at.isoformat()})
        partial.replace(path)
