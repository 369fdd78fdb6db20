"""`stripe-close bench ingest`: ingestion throughput against its bound, and peak memory.

API: the sandbox Stripe API runs in its own process with Stripe's latency and rate limit; the
bound is requests/s x 100 objects a page, and with source objects (charges, invoices, ...: many
pages of them are short) also the rate limit itself in requests/s, with the requests per 1,000
balance transactions each way of reading them costs (`--source-objects list|expand|off`). Peak memory is this process's alone (the stand-in for
Stripe is not the pipeline). Data Pipeline: a multi-part parquet delivery in a moto S3 server
(its own process) is downloaded and loaded; the bound is the target rate, and the figure is balance
transactions per second of the whole load, from listing the bucket to the commit, download
included (also printed without the time spent waiting for the download). The last line printed
is one JSON object, for scripts.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil

from ledger import warehouse
from ledger.sources.data_pipeline import BALANCE_TRANSACTIONS, FEE_DETAILS, TRANSFERS, DataPipelineSettings, DataPipelineStats, load_newest_run
from ledger.sources.stripe_api import StripeApiSettings, Window, ingest
from ledger.sources.stripe_http import PAGE_SIZE
from orchestration.bench import RssSampler
from sandbox import data_pipeline as delivery
from sandbox.local_s3 import LocalS3
from sandbox.merchant import WorldSpec, simulate
from sandbox.stripe_api import SandboxStripeServer, ServerBehaviour

BENCH_API_KEY = "sk_test_bench_ingest"
DATA_PIPELINE_TARGET_ROWS_PER_S = 2_000_000


@dataclass(frozen=True)
class ApiBenchmark:
    transactions: int = 1_000_000
    days: int = 30
    seed: int = 7
    latency_s: float = 0.05
    requests_per_second: float = 100.0
    workers: int = 16
    # Lower than the client's: the account's budget is shared, and the client must adapt (None: the same).
    server_requests_per_second: float | None = None
    # How source objects are read (STRIPE_SOURCE_OBJECTS): expand, list or off.
    source_objects: str = StripeApiSettings.source_objects

    @property
    def server_rate(self) -> float:
        return self.server_requests_per_second or self.requests_per_second


def _serve(spec: WorldSpec, behaviour: ServerBehaviour, pipe: Connection) -> None:
    """The sandbox API in a child process: report the address, serve until told to stop."""
    server = SandboxStripeServer(simulate(spec), BENCH_API_KEY, behaviour=behaviour)
    server.build_sources()  # before the clock starts, not on the first request for them
    server.start()
    pipe.send(server.url)
    pipe.recv()
    server.stop()


def _report(figures: dict[str, Any]) -> int:
    for name, value in figures.items():
        print(f"{name:<26} {value}", flush=True)
    print(json.dumps(figures, sort_keys=True))
    return 0


def run_api_benchmark(plan: ApiBenchmark, workdir: Path) -> int:
    spec = WorldSpec(seed=plan.seed, days=plan.days, transactions_per_day=max(1, plan.transactions // plan.days))
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    behaviour = ServerBehaviour(latency_s=plan.latency_s, rate_limit_per_second=plan.server_rate)
    print(f"Sandbox API in its own process: {spec.days * spec.transactions_per_day:,} activity transactions, "
          f"{plan.latency_s * 1000:.0f} ms latency, {plan.server_rate:g} requests/s per key; "
          f"the client at {plan.requests_per_second:g} requests/s", flush=True)
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    server = context.Process(target=_serve, args=(spec, behaviour, theirs), daemon=True)
    server.start()
    try:
        url = ours.recv()
        settings = StripeApiSettings(api_key=BENCH_API_KEY, api_base=url, max_requests_per_second=plan.requests_per_second, workers=plan.workers,
                                     source_objects=plan.source_objects)
        window = Window(datetime.fromtimestamp(spec.start_ts, tz=timezone.utc), datetime.fromtimestamp(spec.end_ts, tz=timezone.utc))
        with RssSampler(psutil.Process(), include_children=False) as sampler:
            with warehouse.connect(workdir / "warehouse.duckdb") as connection:
                stats = ingest(settings, connection, window)
    finally:
        ours.send("stop")
        server.join(timeout=30)
    telemetry = stats.telemetry.summary()
    # The bound is what the server allows, whatever the client is set to.
    rate_bound = min(plan.requests_per_second, plan.server_rate)
    bound = rate_bound * PAGE_SIZE
    return _report({
        "source": "api",
        "source_objects": plan.source_objects,
        "balance_transactions": stats.balance_transactions,
        "payouts": stats.payouts,
        "payout_transactions": stats.payout_transactions,
        "source_rows": sum(stats.source_rows.values()),
        **{key: value for key, value in telemetry.items() if key != "failed_request_ids"},
        "requests_per_1000_balance_transactions": round(1000 * telemetry["requests"] / max(1, stats.balance_transactions), 1),
        "bound_requests_per_s": rate_bound,
        "requests_ratio_to_bound": round(telemetry["requests_per_s_achieved"] / rate_bound, 3),
        "bound_objects_per_s": round(bound),
        "ratio_to_bound": round(telemetry["objects_per_s"] / bound, 3),
        "peak_rss_mb": round(sampler.peak_mb, 1),
    })


@dataclass(frozen=True)
class _LoadRun:
    stats: DataPipelineStats
    cpu_s: float
    peak_rss_mb: float


def _load_into_empty_warehouse(layout: DataPipelineSettings, client: Any, workdir: Path) -> _LoadRun:
    for stale in workdir.glob("warehouse.duckdb*"):
        stale.unlink()
    process = psutil.Process()
    cpu_before = process.cpu_times()
    with RssSampler(process, include_children=False) as sampler:
        with warehouse.connect(workdir / "warehouse.duckdb") as connection:
            stats = load_newest_run(layout, connection, s3=client, deliveries=workdir / "deliveries")
    cpu_after = process.cpu_times()
    return _LoadRun(stats, cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system, sampler.peak_mb)


def run_data_pipeline_benchmark(rows: int, parts: int, seed: int, workdir: Path, repeats: int = 1) -> int:
    """Write the delivery once, load it `repeats` times into an empty warehouse, report the fastest
    (the machine is shared: the others are slower for reasons not the loader's)."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    days = 30
    per_part = max(1, rows // parts // days)
    with LocalS3(own_process=True) as s3:
        client = s3.client()
        layout = DataPipelineSettings(uri="s3://stripe-close-bench/stripe", mode="livemode", endpoint_url=s3.url)
        client.create_bucket(Bucket=layout.bucket)
        started = time.perf_counter()
        writer = None
        for part in range(parts):
            # Worlds with different seeds have different ids: parts of one delivery, no duplicates.
            world = simulate(WorldSpec(seed=seed + part, days=days, transactions_per_day=per_part))
            writer = writer or delivery.ExportWriter(client, layout, datetime.fromtimestamp(world.as_of, tz=timezone.utc))
            writer.put(BALANCE_TRANSACTIONS, delivery.balance_transactions(world, world.as_of), part)
            writer.put(TRANSFERS, delivery.transfers(world, world.as_of), part)
            writer.put(FEE_DETAILS, delivery.fee_details(world, world.as_of), part)
            print(f"delivery part {part + 1}/{parts} written ({time.perf_counter() - started:.0f} s)", flush=True)
            del world
        writer.complete()
        runs = []
        for attempt in range(max(1, repeats)):
            runs.append(_load_into_empty_warehouse(layout, client, workdir))
            print(f"load {attempt + 1}/{max(1, repeats)}: {runs[-1].stats.seconds:.1f} s, {runs[-1].cpu_s:.1f} CPU s", flush=True)
    best = min(runs, key=lambda run: run.stats.seconds)
    stats = best.stats
    # The headline counts the download: a delivery is not loaded until its files are here.
    rate = stats.balance_transactions / stats.seconds
    load_rate = stats.balance_transactions / stats.load_s
    return _report({
        "source": "data_pipeline",
        "objects": stats.balance_transactions,
        "fee_details": stats.fee_details,
        "payouts": stats.payouts,
        "payout_transactions": stats.payout_transactions,
        "rows_written": stats.balance_transactions + stats.fee_details + stats.payouts + stats.payout_transactions,
        "bytes_downloaded": stats.bytes_downloaded,
        "runs": len(runs),
        "seconds_of_each_run": [round(run.stats.seconds, 1) for run in runs],
        "download_s": round(stats.download_s, 2),
        "load_s": round(stats.load_s, 2),
        "seconds": round(stats.seconds, 2),
        # CPU seconds of this process (DuckDB's threads included; the S3 server's not): what the
        # load costs, whatever the contention on a shared machine.
        "cpu_s": round(best.cpu_s, 1),
        "objects_per_s": round(rate),
        "objects_per_s_without_download": round(load_rate),
        "bound_objects_per_s": DATA_PIPELINE_TARGET_ROWS_PER_S,
        "ratio_to_bound": round(rate / DATA_PIPELINE_TARGET_ROWS_PER_S, 3),
        "ratio_to_bound_without_download": round(load_rate / DATA_PIPELINE_TARGET_ROWS_PER_S, 3),
        "peak_rss_mb": round(max(run.peak_rss_mb for run in runs), 1),
    })
