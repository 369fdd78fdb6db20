"""One ingestion run from whichever source the settings name: the entry point of Dagster and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import duckdb

from ledger.sources.data_pipeline import load_newest_run
from ledger.sources.ingest_settings import IngestSettings
from ledger.sources.stripe_api import Window, ingest, plan_window


@dataclass(frozen=True)
class IngestOutcome:
    source: str
    summary: str
    metadata: dict[str, Any]
    window: Window | None = None
    # What the run worked around, for the user to read (e.g. the key may not read its account).
    warnings: tuple[str, ...] = ()


def run_ingestion(settings: IngestSettings, connection: duckdb.DuckDBPyConnection, start: datetime | None = None,
                  end: datetime | None = None, first_run_days: int = 2, now: datetime | None = None) -> IngestOutcome:
    """Land new Stripe data: the API from `start` (or the cursors) to `end` (or now), or the newest
    complete Data Pipeline delivery. The window is ignored for the Data Pipeline: every delivery
    is a full copy."""
    now = now or datetime.now(timezone.utc)
    if settings.uses_data_pipeline:
        stats = load_newest_run(settings.data_pipeline, connection)
        if not stats.loaded:
            summary = f"Data Pipeline run {stats.run} is already loaded; nothing to do"
        else:
            summary = (f"Loaded Data Pipeline run {stats.run}: {stats.balance_transactions} balance transactions, "
                       f"{stats.payouts} payouts, {stats.payout_transactions} payout links, {stats.source_rows} rows of source objects "
                       f"in {stats.seconds:.1f} s")
        return IngestOutcome(settings.source, summary, stats.as_metadata())
    window = plan_window(connection, settings.api, start, end, now, first_run_days)
    stats = ingest(settings.api, connection, window, now=now)
    figures = stats.telemetry.summary()
    summary = (
        f"Ingested {stats.balance_transactions} balance transactions, {stats.payouts} payouts and "
        f"{sum(stats.source_rows.values())} rows of source objects (charges, invoices, ...) created in "
        f"[{window.start.isoformat()}, {window.end.isoformat()}): {figures['requests']} requests, {figures['retries']} retries, "
        f"{figures['rate_limited_429']} 429s, latency p50/p95/p99 {figures['latency_p50_ms']}/{figures['latency_p95_ms']}/"
        f"{figures['latency_p99_ms']} ms, {figures['objects_per_s']} objects/s, {figures['requests_per_s_achieved']} requests/s "
        f"(limit {figures['requests_per_s_configured']:g}/s"
        + (f", lowered {figures['rate_limit_decreases']} times by Stripe's rate limiting, to {figures['requests_per_s_lowest']:g}/s at lowest)"
           if figures["rate_limit_decreases"] else ")")
        + (f", failed request ids {', '.join(figures['failed_request_ids'])}" if figures["failed_request_ids"] else "")
        + "".join(f"\nwarning: {warning}" for warning in stats.warnings)
    )
    metadata = {"window_start": window.start.isoformat(), "window_end": window.end.isoformat(), **stats.as_metadata()}
    return IngestOutcome(settings.source, summary, metadata, window, tuple(stats.warnings))
