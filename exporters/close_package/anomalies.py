"""The package's "Anomalies": what the anomaly watch flagged on the period's days, or why it judged none.

Read from the metrics the watch stored beside the warehouse (`ledger.anomalies.watch`), judged as the
watch judges them with the seed's settings; nothing is computed from the marts here, so the package
shows what the watch saw. Each flag: its day, entity, currency, metric, the explanation sentence,
its value and baseline. Per currency, how many of the period's finished days were judged; a
currency without any says so in words ("Anomaly watch not evaluated for EUR: 12 days of history, 28
needed"), so an empty table never reads as "no anomalies". "No anomalies flagged" is said only when
days were judged. The default entity's package also shows the flags of the bank lines that belong to
no entity, as its reconciliation lists them.

A day counts as judged in a currency when one of its weekday-baseline metrics was (a previous-day
comparison alone, such as the balance drift, needs a single day of history and would read as a
month judged after two days). Anomalies never block the package: a watch that cannot be read is
shown as not evaluated, with why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import duckdb
import polars as pl

from exporters import xlsx
from ledger.anomalies.catalogue import METRICS
from ledger.anomalies.detection import display
from ledger.anomalies.metrics import UNASSIGNED_ENTITY
from ledger.anomalies.settings import AnomalySettingsMissing
from ledger.anomalies.watch import stored_judgement

if TYPE_CHECKING:
    from exporters.close_package.close_data import CloseData

ANOMALIES_SHEET = "Anomalies"
SHEET_HEADER = ("Day", "Entity", "Currency", "Metric", "Explanation", "Value", "Baseline")
JUDGED = ("flagged", "usual")


@dataclass(frozen=True)
class AnomalyFlag:
    day: date
    entity_id: str
    currency: str
    metric: str
    dimension: str
    explanation: str
    value: str  # as the explanation shows it, in the metric's unit ("3.52%", "60.00", "4")
    baseline: str


@dataclass(frozen=True)
class AnomalyCoverage:
    """How many of the period's finished days the watch judged in a currency, and why not the others."""

    currency: str
    days: int
    judged: int
    why_not: str  # "" when every day was judged

    def describe(self) -> str:
        currency = self.currency.upper()
        if self.days == 0:
            return f"Anomaly watch: no day of the period is over yet for {currency}"
        if self.judged == 0:
            return f"Anomaly watch not evaluated for {currency}: {self.why_not}"
        if self.judged == self.days:
            return f"Anomaly watch judged {currency} on all {self.days} days"
        return f"Anomaly watch judged {currency} on {self.judged} of {self.days} days; not the others: {self.why_not}"


@dataclass(frozen=True)
class PeriodAnomalies:
    flags: tuple[AnomalyFlag, ...]
    coverage: tuple[AnomalyCoverage, ...]
    unavailable: str = ""  # why the package shows no anomaly watch at all

    def summary(self) -> str:
        """The sentence above the table: flags counted, "none" only when days were judged."""
        judged = sum(item.judged for item in self.coverage)
        if self.unavailable:
            return self.unavailable
        if self.flags:
            return f"{len(self.flags)} anomal{'y' if len(self.flags) == 1 else 'ies'} flagged"
        if judged:
            return "No anomalies flagged on the days judged"
        return "Anomaly watch not evaluated: no day of the period was judged"


# A package frozen at its lock by a version before this section: it has no anomalies to show, and says so.
NOT_FROZEN = PeriodAnomalies((), (), "Anomaly watch not shown: this package was frozen at its lock by a version without it")


def period_anomalies(
    connection: duckdb.DuckDBPyConnection, entity_id: str, period: str, period_days: list[date], currencies: tuple[str, ...],
    with_unassigned: bool, generated_at: datetime, reporting_timezone: str,
) -> PeriodAnomalies:
    """The entity's flags of `period` (and the unassigned bank lines' when `with_unassigned`) and, per
    currency, the days judged; days from the generation day on are not over, so not counted."""
    today = generated_at.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(reporting_timezone)).date()
    days = [day for day in period_days if day < today]
    if not days:
        return PeriodAnomalies((), tuple(AnomalyCoverage(currency, 0, 0, "") for currency in currencies))
    try:
        settings, metrics, evaluations = stored_judgement(connection, _warehouse_file(connection), days)
    except AnomalySettingsMissing as error:
        return _unread(currencies, len(days), str(error))
    except (OSError, pl.exceptions.PolarsError) as error:
        return _unread(currencies, len(days), f"its stored metrics cannot be read: {error}")
    entities = [entity_id, UNASSIGNED_ENTITY] if with_unassigned else [entity_id]
    evaluations = evaluations.filter(pl.col("entity_id").is_in(entities))
    metrics = metrics.filter(pl.col("entity_id").is_in(entities))
    flags = tuple(
        AnomalyFlag(row["day"], row["entity_id"], row["currency"], row["metric"], row["dimension"], row["explanation"],
                    display(row["value"], METRICS[row["metric"]].unit, row["currency"]),
                    display(row["baseline"], METRICS[row["metric"]].unit, row["currency"]))
        for row in evaluations.filter(pl.col("status") == "flagged").sort("day", "entity_id", "currency", "metric", "dimension").iter_rows(named=True)
    )
    needed = 7 * int(settings.filter(pl.col("is_enabled"), pl.col("baseline") == "weekday_median")["min_history_weeks"].min() or 0)
    return PeriodAnomalies(flags, tuple(_coverage(currency, days, metrics, evaluations, needed, period) for currency in currencies))


def _coverage(currency: str, days: list[date], metrics: pl.DataFrame, evaluations: pl.DataFrame, needed: int, period: str) -> AnomalyCoverage:
    evaluations = evaluations.filter(pl.col("currency") == currency)
    judged = set(evaluations.filter(pl.col("status").is_in(JUDGED), pl.col("score").is_not_null())["day"])
    stored = set(evaluations["day"])
    reasons = []
    unstored = [day for day in days if day not in stored]
    if unstored:
        reasons.append(f"no close metrics stored for {period} (the anomaly watch has not run on it)" if len(unstored) == len(days) else
                       f"no close metrics for {len(unstored)} of its days (no data yet, or the anomaly watch has not run on them)")
    unjudged = sorted(stored - judged)
    if unjudged:
        history = metrics.filter(pl.col("currency") == currency, pl.col("day") < unjudged[-1])["day"].n_unique()
        if history < needed:
            reasons.append(f"{history} days of history, {needed} needed")
        else:
            statuses = evaluations.filter(pl.col("day").is_in(unjudged), pl.col("status").str.starts_with("not evaluated"))
            common = statuses.group_by("status").len().sort("len", "status", descending=[True, False])["status"].to_list()
            reasons.append(common[0].removeprefix("not evaluated: ") if common else "every metric is switched off in the seed")
    return AnomalyCoverage(currency, len(days), len(judged), "; ".join(reasons))


def _unread(currencies: tuple[str, ...], days: int, why: str) -> PeriodAnomalies:
    return PeriodAnomalies((), tuple(AnomalyCoverage(currency, days, 0, why) for currency in currencies))


def _warehouse_file(connection: duckdb.DuckDBPyConnection) -> Path:
    [(path,)] = connection.execute("select path from duckdb_databases() where database_name = current_database()").fetchall()
    return Path(path)


def add_anomalies_sheet(workbook, data: CloseData) -> None:
    anomalies = data.anomalies
    rows: list[tuple] = [
        (flag.day, flag.entity_id, flag.currency.upper(), flag.metric + (f" ({flag.dimension})" if flag.dimension else ""),
         flag.explanation, flag.value, flag.baseline)
        for flag in anomalies.flags
    ] or [(None, None, None, None, anomalies.summary(), None, None)]
    rows += [(None, None, item.currency.upper(), None, item.describe(), None, None) for item in anomalies.coverage]
    xlsx.add_table(workbook, ANOMALIES_SHEET, SHEET_HEADER, rows)
