"""The anomaly watch in Dagster: `close_anomalies`, daily, after the ledger (docs/anomalies.md).

One warning check per metric family (never blocking: an unusual day is for a person to read, not a
reason to stop the close), metadata a finance person reads (the day's flags as a table, headline
metrics as numbers Dagster plots over the partitions), and one webhook message per day listing the
day's new flags, on the run-failure alert's webhook (CLOSE_ALERT_WEBHOOK_URL).
"""

import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
from dagster_dbt import get_asset_key_for_model

from ledger.alerts import AnomalyAlert, send
from ledger.anomalies.alerted import new_flags, record_alerted
from ledger.anomalies.catalogue import FAMILIES, METRICS
from ledger.anomalies.metrics import UNASSIGNED_ENTITY
from ledger.anomalies.settings import AnomalySettingsMissing
from ledger.anomalies.watch import WatchResult, store_folder, watch
from orchestration import groups
from orchestration.defs.alerts.sensors import UI_URL_VARIABLE, WEBHOOK_VARIABLE
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.transform.assets import ledger_dbt_models
from orchestration.partitions import REPORTING_TIMEZONE, daily_partitions

WATCHED_MODELS = (
    "stg_stripe__balance_transactions", "stg_stripe__fee_details", "stg_stripe__payouts", "stg_stripe__balance_snapshots",
    "stg_stripe__charges", "stg_stripe__refunds", "stg_stripe__disputes", "stg_bank__statement_lines",
    "fct_payout_bank_matches", "fct_reconciliation_exceptions", "rpt_suspense_postings", "fct_journal_lines",
)
REASONS_SHOWN = 3
# Plotted per entity and currency (and slice: payment method, card country): Dagster draws numeric
# metadata over the partitions.
PLOTTED = ("gross_volume", "transaction_count", "fee_rate", "refund_rate", "dispute_rate", "ingestion_completeness", "balance_drift",
           *(name for name, metric in METRICS.items() if metric.slice))


def check_name(family: str) -> str:
    return f"anomalies_{family}"


@dg.asset(
    partitions_def=daily_partitions,
    deps=[get_asset_key_for_model([ledger_dbt_models], model) for model in WATCHED_MODELS],
    group_name=groups.ANOMALIES,
    kinds={"polars", "duckdb"},
    pool="duckdb",
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[
        dg.AssetCheckSpec(check_name(family), asset="close_anomalies",
                          description=f"No {family} metric of the day lies outside its usual range (seed anomaly_settings). Warning only.")
        for family in FAMILIES
    ],
)
def close_anomalies(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The day's close metrics per entity and currency (volume, fees, refunds, disputes, payouts, bank
    reconciliation, suspense, ingestion, Stripe balance drift), each judged against its weekday
    baseline; every flag says what, how far and against what."""
    window = context.partition_time_window
    days = [window.start.date() + timedelta(days=n) for n in range((window.end.date() - window.start.date()).days)]
    try:
        result = watch(warehouse.file, days, REPORTING_TIMEZONE, today=datetime.now(ZoneInfo(REPORTING_TIMEZONE)).date())
    except AnomalySettingsMissing as error:
        raise dg.Failure(description=str(error)) from None
    alerts = send_new_flags(context, result, warehouse.file)
    return dg.MaterializeResult(metadata={**watch_metadata(result, warehouse.file), "alerts_sent": alerts},
                                check_results=[family_check(result, family) for family in FAMILIES])


def family_check(result: WatchResult, family: str) -> dg.AssetCheckResult:
    """Fails (warning) with the family's flags; with no series judged, says "not evaluated" and why, never "passed"."""
    evaluations = result.evaluations.filter(pl.col("family") == family)
    flagged = evaluations.filter(pl.col("status") == "flagged")
    judged = evaluations.filter(pl.col("status").is_in(["flagged", "usual"]))
    if judged.is_empty():
        # The most common reasons first, a few of them: a status per series and day would be a wall of text.
        counted = evaluations.group_by("status").len().sort("len", descending=True)["status"].to_list()
        reasons = counted[:REASONS_SHOWN] or ["no metric of this family has data for the day"]
        return dg.AssetCheckResult(check_name=check_name(family), passed=False, severity=dg.AssetCheckSeverity.WARN,
                                   description=f"not evaluated: {'; '.join(reasons)}")
    lines = [f"{row['entity_id']}: {row['explanation']}" for row in flagged.iter_rows(named=True)]
    return dg.AssetCheckResult(
        check_name=check_name(family), passed=not lines, severity=dg.AssetCheckSeverity.WARN,
        description="\n".join(lines) if lines else f"{judged.height} series judged, all usual",
        metadata={"flags": len(lines), "judged": judged.height, "not_evaluated": evaluations.height - judged.height},
    )


def watch_metadata(result: WatchResult, warehouse_file) -> dict:
    # Earlier days judged again for late facts show beside the run's days: their flags are news too.
    flagged = pl.concat([result.flags, result.rejudged_flags])
    table = ["| Day | Entity | Currency | Metric | Explanation |", "|---|---|---|---|---|"]
    table += [f"| {row['day']} | {row['entity_id']} | {row['currency'].upper()} | {row['metric']} | {row['explanation']} |"
              for row in flagged.iter_rows(named=True)]
    metadata: dict = {
        "flags": flagged.height,
        "flags_table": dg.MetadataValue.md("\n".join(table) if flagged.height else "no flags"),
        "metrics_folder": dg.MetadataValue.path(str(store_folder(warehouse_file))),
        "rejudged_days": ", ".join(str(day) for day in result.rejudged["day"].unique().sort()) or "none",
    }
    last_day = result.metrics.filter(pl.col("day") == result.days[-1], pl.col("metric").is_in(PLOTTED), pl.col("entity_id") != UNASSIGNED_ENTITY)
    for row in last_day.iter_rows(named=True):
        key = "_".join(part for part in (row["entity_id"], row["currency"], row["metric"], row["dimension"]) if part)
        if row["amount_minor"] is not None:
            metadata[f"{key}_minor"] = row["amount_minor"]
        elif row["value"] is not None:
            metadata[key] = float(row["value"])
    return metadata


def send_new_flags(context: dg.AssetExecutionContext, result: WatchResult, warehouse_file) -> int:
    """One message per day (the run's, and earlier days judged again for late facts) with flags not sent
    before (a re-run of a day repeats nothing); returns the messages sent.
    A webhook that fails is logged and leaves the flags unsent for the next run: an alert is never worth failing the watch."""
    webhook_url = os.environ.get(WEBHOOK_VARIABLE)
    if not webhook_url:
        return 0
    ui_url = os.environ.get(UI_URL_VARIABLE)
    sent = 0
    folder = store_folder(warehouse_file)
    flagged = pl.concat([result.flags, result.rejudged_flags])
    for day in sorted(set(result.days) | set(result.rejudged["day"])):
        fresh = new_flags(folder, day, flagged.filter(pl.col("day") == day))
        if fresh.is_empty():
            continue
        alert = AnomalyAlert(day=f"{day:%a} {day.isoformat()}",
                             flags=tuple(f"{row['entity_id']}: {row['explanation']}" for row in fresh.iter_rows(named=True)),
                             run_url=f"{ui_url.rstrip('/')}/runs/{context.run_id}" if ui_url else None)
        try:
            send(webhook_url, alert)
        except RuntimeError as error:
            context.log.warning(f"anomalies of {day} not sent: {error}")
            continue
        record_alerted(folder, day, fresh)
        sent += 1
    return sent
