"""`stripe-close bench anomalies`: does the anomaly watch catch what was injected, stay quiet on the
clean twin, and keep a daily run cheap at a large merchant's scale?

1. Recall: the 180-day injected world (sandbox.anomaly_worlds) landed and built; each injected
   anomaly counts as caught when one of its metrics is flagged, in its currency, on its first day
   or the next business day. The days are listed.
2. Quiet: flags per 90 days per entity and currency on the clean twin (days judged, not calendar days).
3. Scale: what the watch adds to a daily run of a merchant with 1M transactions a day and 365 days
   of history. Simulating and building 365M transactions is out of reach on this machine, so the
   inputs are synthesized directly at that scale: one day of 1M balance transactions (with their
   fee details and the charges' source objects, for the payment method and card country slices)
   in a DuckDB file, in tables named and shaped like the staging views and marts the metrics
   read, and 365 days of stored metrics; the figure is the metrics of the day plus the
   judgement, timed.
Prints figures, then one JSON line.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl

from ledger.anomalies.detection import evaluate, flags
from ledger.anomalies.metrics import compute_metrics
from ledger.anomalies.settings import read_settings_csv
from ledger.anomalies.watch import history_days
from sandbox.anomaly_worlds import AnomalyWorld, anomaly_world, land_anomaly_world
from sandbox.merchant import add_business_days

SCALE_TRANSACTIONS_PER_DAY = 1_000_000
SCALE_HISTORY_DAYS = 365


def world_metrics(folder: Path, world: AnomalyWorld) -> pl.DataFrame:
    """Land and build `world`; returns the metrics of all its days."""
    path = folder / "warehouse.duckdb"
    folder.mkdir(parents=True, exist_ok=True)
    land_anomaly_world(path, world)
    spec = world.world.spec
    with duckdb.connect(str(path), read_only=True) as connection:
        return compute_metrics(connection, spec.start, spec.start + timedelta(days=spec.days - 1))


def caught_on(anomaly, flagged: pl.DataFrame) -> date | None:
    """The first day within one business day of the anomaly's start with a flag of one of its metrics."""
    latest = add_business_days(anomaly.start, 1)
    hits = flagged.filter(pl.col("metric").is_in(anomaly.metrics), pl.col("day").is_between(anomaly.start, latest))
    if anomaly.currency is not None:
        hits = hits.filter(pl.col("currency") == anomaly.currency)
    if anomaly.dimension is not None:
        hits = hits.filter(pl.col("dimension") == anomaly.dimension)
    return hits["day"].min() if hits.height else None


def quiet_figures(evaluations: pl.DataFrame) -> dict[str, float]:
    """Flags per 90 judged days, per entity and currency."""
    judged = evaluations.filter(pl.col("status").is_in(["flagged", "usual"]))
    per_series = judged.group_by("entity_id", "currency").agg(
        days=pl.col("day").n_unique(), flags=(pl.col("status") == "flagged").sum())
    return {f"{row['entity_id']}/{row['currency']}": round(row["flags"] * 90 / row["days"], 2)
            for row in per_series.sort("entity_id", "currency").iter_rows(named=True)}


def scale_seconds(folder: Path) -> dict[str, float]:
    """Metrics of one 1M-transaction day plus the judgement over 365 days of history, timed."""
    day = date(2026, 10, 1)
    path = folder / "scale.duckdb"
    with duckdb.connect(str(path)) as connection:
        _synthesize_day(connection, day, SCALE_TRANSACTIONS_PER_DAY)
    started = time.perf_counter()
    with duckdb.connect(str(path), read_only=True) as connection:
        today = compute_metrics(connection, day, day)
    metrics_s = time.perf_counter() - started
    history = _synthesized_history(today, day, SCALE_HISTORY_DAYS)
    settings = read_settings_csv()
    started = time.perf_counter()
    window = history.filter(pl.col("day") >= day - timedelta(days=history_days(settings)))
    evaluate(pl.concat([window, today]), settings, [day])
    detection_s = time.perf_counter() - started
    started = time.perf_counter()
    evaluate(pl.concat([history, today]), settings, [day])
    whole_year_s = time.perf_counter() - started
    return {"metrics_s": round(metrics_s, 2), "detection_s": round(detection_s, 2),
            "detection_whole_year_s": round(whole_year_s, 2), "added_s": round(metrics_s + detection_s, 2)}


def _synthesize_day(connection: duckdb.DuckDBPyConnection, day: date, count: int) -> None:
    """Tables shaped like the views and marts compute_metrics reads, holding one day of `count` transactions."""
    connection.execute("create schema accounting")
    connection.execute("create table accounting.gl_control_accounts as select 'stripe_clearing' as account_role, '1010' as account_code")
    connection.execute(f"""
        create table stg_stripe__balance_transactions as
        select 'txn_' || i as balance_transaction_id, 'src_' || i as source_id, 'main' as entity_id, ['usd', 'eur', 'jpy'][1 + i % 3] as currency,
               -- One in 25 a refund, one in 1,000 a dispute (i % 1000 = 1 is never a multiple of 25).
               case when i % 25 = 0 then 'refund' when i % 1000 = 1 then 'dispute' else 'charge' end as reporting_category,
               case when i % 25 = 0 then -1500 when i % 1000 = 1 then -2000 else 500 + (i * 7919) % 49500 end::bigint as amount_minor,
               case when i % 25 = 0 then 0 else 45 + (i * 7919) % 1400 end::bigint as fee_minor,
               0::bigint as net_minor,
               timestamp '{day.isoformat()}' + to_microseconds(((i * 86400000000) // {count})::bigint) as created_at
        from range({count}) as t(i)
    """)
    connection.execute("""
        create table stg_stripe__fee_details as
        select balance_transaction_id, 'stripe_fee' as fee_type, fee_minor as amount_minor
        from stg_stripe__balance_transactions where fee_minor <> 0
    """)
    # Every charge's source object (payment method, card country); each refund or dispute is of the next transaction's charge.
    connection.execute("""
        create table stg_stripe__charges as
        select 'ch_' || source_id as charge_id, balance_transaction_id, created_at,
               ['card', 'card', 'card', 'sepa_debit'][1 + (hash(source_id) % 4)::bigint] as payment_method_type,
               ['US', 'CA', 'FR', 'DE', 'JP', 'GB'][1 + (hash(source_id) % 6)::bigint] as card_country
        from stg_stripe__balance_transactions where reporting_category = 'charge'
    """)
    connection.execute("""
        create table stg_stripe__refunds as
        select source_id as refund_id, balance_transaction_id, created_at, 'ch_src_' || (cast(substr(source_id, 5) as bigint) + 1) as charge_id
        from stg_stripe__balance_transactions where reporting_category = 'refund'
    """)
    connection.execute("""
        create table stg_stripe__disputes as
        select source_id as dispute_id, created_at, 'ch_src_' || (cast(substr(source_id, 5) as bigint) + 1) as charge_id
        from stg_stripe__balance_transactions where reporting_category = 'dispute'
    """)
    connection.execute(f"""
        create table stg_stripe__payouts as
        select 'po_' || c as payout_id, 'main' as entity_id, c as currency, date '{day.isoformat()}' as arrival_date
        from (values ('usd'), ('eur'), ('jpy')) as t(c)
    """)
    connection.execute(f"""
        create table fct_payout_bank_matches as
        select payout_id, date '{day.isoformat()}' as booking_date, upper(currency) || '-OPERATING' as bank_account_id from stg_stripe__payouts
    """)
    connection.execute("create table fct_reconciliation_exceptions "
                       "(exception_type varchar, reference_date date, entity_id varchar, currency varchar, bank_statement_line_id varchar)")
    connection.execute("create table stg_bank__statement_lines (bank_statement_line_id varchar, bank_account_id varchar)")
    connection.execute("create table rpt_suspense_postings (accounting_date date, entity_id varchar, currency varchar)")
    connection.execute("create table stg_stripe__balance_snapshots (entity_id varchar, currency varchar, balance_minor bigint, as_of_at timestamp)")
    connection.execute("create table fct_journal_lines (entity_id varchar, currency varchar, account_code varchar, accounting_date date, amount_minor bigint)")


def _synthesized_history(today: pl.DataFrame, day: date, days: int) -> pl.DataFrame:
    """`days` days before `day` with today's series, values nudged by the weekday so baselines have a spread."""
    return pl.concat([
        today.with_columns(day=pl.lit(day - timedelta(days=back)), value=pl.col("value") * (1 + (back % 7) / 1000))
        for back in range(1, days + 1)
    ])


def run(output=print, compare_stl: bool = False) -> dict:
    settings = read_settings_csv()
    with tempfile.TemporaryDirectory(prefix="bench-anomalies-") as folder:
        injected = anomaly_world(injected=True)
        injected_metrics = world_metrics(Path(folder) / "injected", injected)
        flagged = flags(evaluate(injected_metrics, settings))
        recall = {a.kind: caught_on(a, flagged) for a in injected.anomalies}
        for anomaly in injected.anomalies:
            day = recall[anomaly.kind]
            output(f"{anomaly.kind:<24} injected {anomaly.start:%a} {anomaly.start}  caught {day:%a} {day}" if day else
                   f"{anomaly.kind:<24} injected {anomaly.start:%a} {anomaly.start}  NOT caught")
        clean_metrics = world_metrics(Path(folder) / "clean", anomaly_world(injected=False))
        clean = evaluate(clean_metrics, settings)
        quiet = quiet_figures(clean)
        per_metric = dict(flags(clean).group_by("metric").len().sort("metric").iter_rows())
        output(f"clean twin: {flags(clean).height} flags ({per_metric or 'none'} by metric); per 90 judged days per entity/currency: {quiet}")
        stl = stl_figures(injected, injected_metrics, clean_metrics, settings, output) if compare_stl else None
        scale = scale_seconds(Path(folder))
        output(f"{SCALE_TRANSACTIONS_PER_DAY:,} transactions a day, {SCALE_HISTORY_DAYS} days of history: "
               f"metrics {scale['metrics_s']} s + detection {scale['detection_s']} s "
               f"= {scale['added_s']} s added (judging the whole year at once: {scale['detection_whole_year_s']} s)")
    figures = {
        "recall": sum(day is not None for day in recall.values()) / len(recall),
        "caught": {kind: day.isoformat() if day else None for kind, day in recall.items()},
        "clean_flags": flags(clean).height, "clean_flags_by_metric": per_metric, "clean_flags_per_90_days": quiet, **scale,
        **({"stl": stl} if stl else {}),
    }
    output(json.dumps(figures))
    return figures


def stl_figures(injected: AnomalyWorld, injected_metrics: pl.DataFrame, clean_metrics: pl.DataFrame, settings: pl.DataFrame,
                output=print) -> dict:
    """The candidate the weekday median was chosen over, on the same worlds and settings: STL
    (statsmodels, period 7, robust) refitted each day on the series up to that day, as a daily run
    would, flagging a residual beyond `sensitivity` x the robust spread of the earlier residuals
    (floored like the median's spread). Only for the measurement: statsmodels is not a dependency."""
    started = time.perf_counter()
    injected_flags = _stl_flags(injected_metrics, settings)
    clean_flags = _stl_flags(clean_metrics, settings)
    seconds = time.perf_counter() - started
    # STL stands in for the weekday median only: the balance drift keeps its previous_day baseline.
    judged = set(injected_flags["metric"]) | {row["metric"] for row in settings.iter_rows(named=True) if row["baseline"] == "weekday_median"}
    recall = {a.kind: caught_on(a, injected_flags) for a in injected.anomalies if judged & set(a.metrics)}
    figures = {"recall": sum(day is not None for day in recall.values()) / len(recall),
               "caught": {kind: day.isoformat() if day else None for kind, day in recall.items()},
               "clean_flags": clean_flags.height, "seconds_both_worlds": round(seconds, 1)}
    output(f"STL: recall {figures['recall']:.2f} {figures['caught']}; clean twin {clean_flags.height} flags; {seconds:.1f} s for both worlds")
    return figures


def _stl_flags(metrics: pl.DataFrame, settings: pl.DataFrame) -> pl.DataFrame:
    import numpy as np
    from statsmodels.tsa.seasonal import STL

    from ledger.anomalies.detection import SERIES, with_ingestion_completeness

    rules = {row["metric"]: row for row in settings.iter_rows(named=True) if row["is_enabled"] and row["baseline"] == "weekday_median"}
    found = []
    metrics = with_ingestion_completeness(metrics, settings)
    for key, series in metrics.filter(pl.col("metric").is_in(list(rules))).sort("day").partition_by(SERIES, as_dict=True).items():
        rule = rules[key[2]]
        values = series["value"].to_numpy().astype(float)
        warm_up = 7 * int(rule["min_history_weeks"])
        for end in range(warm_up, len(values)):
            window = values[: end + 1]
            if np.isnan(window).any() or series["volume"][end] < rule["min_volume"]:
                continue
            fit = STL(window, period=7, robust=True).fit()
            residuals = fit.resid
            past = residuals[:-1]
            spread = 1.4826 * np.median(np.abs(past - np.median(past)))
            expected = window[-1] - residuals[-1]
            scale = max(spread, rule["min_deviation"], rule["min_relative_deviation"] * abs(expected))
            score = residuals[-1] / scale if scale > 0 else 0.0
            side = {"up": score > 0, "down": score < 0}.get(rule["direction"], True)
            if abs(score) > rule["sensitivity"] and side:
                found.append({"day": series["day"][end], "entity_id": key[0], "currency": key[1], "metric": key[2]})
    return pl.DataFrame(found, schema={"day": pl.Date, "entity_id": pl.String, "currency": pl.String, "metric": pl.String})
