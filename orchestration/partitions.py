"""The close's calendar in Dagster: daily partitions for ingestion and the ledger, monthly for the
close, exports and the close package.

Both end one partition after today (`end_offset=1`) because the continuous close works on the day
and the month still running. `CLOSE_PARTITIONS_START` (YYYY-MM, the first month of the history)
sets where the history begins; backfills cannot reach before it.
"""

import os

import dagster as dg

PARTITIONS_START = os.environ.get("CLOSE_PARTITIONS_START", "2026-01")
# Days and months are the ledger's accounting days, which follow the reporting time zone.
REPORTING_TIMEZONE = os.environ.get("CLOSE_REPORTING_TIMEZONE", "UTC")

daily_partitions = dg.DailyPartitionsDefinition(start_date=f"{PARTITIONS_START}-01", timezone=REPORTING_TIMEZONE, end_offset=1)
# Monthly keys are periods as the ledger writes them (YYYY-MM), so a partition key is a period.
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=PARTITIONS_START, fmt="%Y-%m", timezone=REPORTING_TIMEZONE, end_offset=1)
