"""Ranges of partitions, run the way a single-run backfill runs them: the days, then the months.

The ledger's days (ingestion, dbt, the proofs) and the exports' months have different partitions,
and Dagster runs one partitions definition per run; a range of either is one run whose tags name
the first and last key. `close_run`, `stripe-close backfill` and the schedules build runs here.
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from ledger.config import ConfigError
from orchestration.partitions import daily_partitions, monthly_partitions

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def range_tags(keys: dg.PartitionKeyRange) -> dict[str, str]:
    return {RANGE_START_TAG: keys.start, RANGE_END_TAG: keys.end}


def _clipped(partitions: dg.TimeWindowPartitionsDefinition, first: str, last: str, what: str) -> dg.PartitionKeyRange:
    earliest, latest = partitions.get_first_partition_key(), partitions.get_last_partition_key()
    if first < earliest:
        raise ConfigError(f"{what} {first} is before the first partition {earliest}: set CLOSE_PARTITIONS_START (YYYY-MM) earlier")
    if last < first:
        raise ConfigError(f"{what} run from {first} to {last}: the end is before the start")
    # The calendar ends with the day (month) still running: later keys do not exist yet.
    return dg.PartitionKeyRange(first, min(last, latest))


def day_range(first: date, last: date) -> dg.PartitionKeyRange:
    """The accounting days [first, last], up to today."""
    return _clipped(daily_partitions, first.isoformat(), last.isoformat(), "a day")


def month_range(first: str, last: str) -> dg.PartitionKeyRange:
    """The periods [first, last] (YYYY-MM), up to the month still running."""
    return _clipped(monthly_partitions, first, last, "a month")


def days_of(months: dg.PartitionKeyRange) -> dg.PartitionKeyRange:
    """Every accounting day of the months, up to today."""
    first = date.fromisoformat(f"{months.start}-01")
    after = (date.fromisoformat(f"{months.end}-01") + timedelta(days=32)).replace(day=1)
    return day_range(first, after - timedelta(days=1))
