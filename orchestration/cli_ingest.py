"""`stripe-close ingest` and `stripe-close bench ingest`: land Stripe data, measure how fast."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from ledger import warehouse
from ledger.config import CloseSettings
from ledger.sources.ingest_settings import IngestSettings
from orchestration.cli_args import add_command, at_least, day, require_ordered
from orchestration.cli_guards import require_stripe_api
from sandbox.merchant import MIN_DAYS


DEMO_BUCKET = "stripe-close-demo"


def register(subcommands: argparse._SubParsersAction, bench_targets: argparse._SubParsersAction) -> None:
    subcommands.choices["demo"].add_argument(
        "--source", choices=("api", "data_pipeline"), default="api",
        help="read the simulated Stripe through its API, or through a Data Pipeline delivery in a local S3 server",
    )
    ingest = add_command(subcommands, "ingest", "land new Stripe data in CLOSE_WAREHOUSE from CLOSE_SOURCE (no dbt, no export)",
                         "stripe-close ingest --start 2026-10-01 --end 2026-10-31")
    ingest.add_argument("--start", type=day, help="backfill from this day, YYYY-MM-DD (UTC); default: continue from the cursors")
    ingest.add_argument("--end", type=day, help="last day, YYYY-MM-DD (UTC), inclusive; default: now")
    ingest.add_argument("--first-run-days", type=at_least(1), default=2, help="days read on a first run without --start (default 2)")
    ingest.set_defaults(handler=_ingest)

    bench_ingest = add_command(bench_targets, "ingest", "ingestion throughput against its bound (API or Data Pipeline)",
                               "stripe-close bench ingest --source data_pipeline --objects 1000000")
    bench_ingest.add_argument("--source", choices=("api", "data_pipeline"), default="api", help="which ingestion to time (default api)")
    bench_ingest.add_argument("--objects", type=at_least(1), help="balance transactions (default: 1,000,000 API, 10,000,000 Data Pipeline)")
    bench_ingest.add_argument("--seed", type=int, default=7, help="the simulation's seed (default 7)")
    bench_ingest.add_argument("--days", type=at_least(MIN_DAYS), help=f"API: simulated days (at least {MIN_DAYS}, default 30)")
    bench_ingest.add_argument("--latency-ms", type=float, help="API: sandbox latency per request (default 50)")
    bench_ingest.add_argument("--requests-per-second", type=float, help="API: the rate limit, client and server (default 100)")
    bench_ingest.add_argument("--server-requests-per-second", type=float,
                              help="API: the server's limit when it is lower than the client's (a budget other integrations share)")
    bench_ingest.add_argument("--workers", type=at_least(1), help="API: parallel fetching threads (default 16)")
    bench_ingest.add_argument("--source-objects", choices=("expand", "list", "off"),
                              help="API: how charges, invoices and the rest are read, as STRIPE_SOURCE_OBJECTS (default expand)")
    bench_ingest.add_argument("--parts", type=at_least(1), default=10, help="Data Pipeline: parquet files per table")
    bench_ingest.add_argument("--repeats", type=at_least(1), default=1, help="Data Pipeline: loads of the one delivery; the fastest is reported")
    bench_ingest.add_argument("--workdir", type=Path, default=Path(".close/bench-ingest"), help="where the benchmark's files go")
    bench_ingest.set_defaults(handler=_bench_ingest)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(tzinfo=timezone.utc))


def _ingest(args: argparse.Namespace) -> int:
    from ledger.sources.data_pipeline import DataPipelineError
    from ledger.sources.ingestion import run_ingestion

    close = CloseSettings.from_env()
    settings = IngestSettings.from_env(os.environ)
    require_ordered(args.start, args.end)
    require_stripe_api(close)
    start = _midnight(args.start) if args.start else None
    end = _midnight(args.end + timedelta(days=1)) if args.end else None
    with warehouse.connect(close.warehouse) as connection:
        try:
            outcome = run_ingestion(settings, connection, start, end, args.first_run_days)
        except DataPipelineError as error:
            # A delivery the loader refuses is the data's fault, not the program's: its message names
            # the object, the column and the value, and the warehouse is unchanged.
            print(f"ingest stopped: {error}", file=sys.stderr)
            return 1
    print(outcome.summary)
    return 0


def _bench_ingest(args: argparse.Namespace) -> int:
    from orchestration.bench_ingest import ApiBenchmark, run_api_benchmark, run_data_pipeline_benchmark

    if args.source == "data_pipeline":
        return run_data_pipeline_benchmark(args.objects or 10_000_000, args.parts, args.seed, args.workdir, args.repeats)
    given = {
        "transactions": args.objects, "days": args.days, "seed": args.seed, "requests_per_second": args.requests_per_second,
        "workers": args.workers, "source_objects": args.source_objects, "latency_s": None if args.latency_ms is None else args.latency_ms / 1000,
        "server_requests_per_second": args.server_requests_per_second,
    }
    return run_api_benchmark(ApiBenchmark(**{name: value for name, value in given.items() if value is not None}), args.workdir)


@contextmanager
def demo_source(source: str, world) -> Iterator[str]:
    """The CLOSE_SOURCE a demo closes from. For `data_pipeline`: a moto S3 server on loopback holding
    one delivery of `world`, and the variables that point ingestion at it, for the demo's duration."""
    if source != "data_pipeline":
        yield "sandbox"
        return
    from ledger.sources.data_pipeline import DataPipelineSettings
    from sandbox.data_pipeline import write_export
    from sandbox.local_s3 import CREDENTIALS, LocalS3

    with LocalS3() as s3:
        layout = DataPipelineSettings(uri=f"s3://{DEMO_BUCKET}/stripe", mode="testmode", endpoint_url=s3.url)
        client = s3.client()
        client.create_bucket(Bucket=DEMO_BUCKET)
        writer = write_export(client, layout, world)
        print(f"Stripe Data Pipeline delivery {writer.run} in {layout.uri} (local S3 at {s3.url})")
        variables = {**CREDENTIALS, "CLOSE_DATA_PIPELINE_URI": layout.uri, "CLOSE_DATA_PIPELINE_MODE": layout.mode, "AWS_ENDPOINT_URL": s3.url}
        saved = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
        try:
            yield "data_pipeline"
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
