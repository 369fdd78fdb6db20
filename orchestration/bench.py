"""`stripe-close bench`: the whole chain on a large sandbox world, with wall time and peak memory per stage.

The sandbox Stripe API runs in its own process, so the figures measure the pipeline, not the
stand-in for Stripe. Peak memory is sampled over the process tree, which includes the dbt
subprocess. The last line printed is one JSON object, for scripts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psutil

from exporters.period_export import export_periods
from exporters.settings import ExportSettings
from ledger import warehouse
from ledger.sources.stripe_api import StripeApiSettings, Window, ingest
from ledger.dbt_project import DBT_PROJECT_DIR, dbt_executable
from ledger.periods import periods_between
from sandbox.merchant import WorldSpec

BENCH_API_KEY = "sk_test_bench_stripe_close"
SAMPLE_SECONDS = 0.05


@dataclass
class StageFigures:
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0
    # User + system seconds of this process: on a shared machine, steadier than wall time, which
    # grows with other people's load.
    cpu_s: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"wall_s": round(self.wall_s, 2), "peak_rss_mb": round(self.peak_rss_mb, 1), "cpu_s": self.cpu_s, **self.extra}


class RssSampler:
    """Samples the resident memory of this process (and its children) in a background thread."""

    def __init__(self, root: psutil.Process, include_children: bool = True) -> None:
        self._root = root
        self._include_children = include_children
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _tree_rss(self) -> int:
        total = 0
        for process in [self._root, *(self._root.children(recursive=True) if self._include_children else [])]:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue
        return total

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._peak = max(self._peak, self._tree_rss())
            self._stop.wait(SAMPLE_SECONDS)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, self._tree_rss())

    @property
    def peak_mb(self) -> float:
        return self._peak / 2**20


@contextmanager
def measured(figures: dict[str, StageFigures], stage: str, process: psutil.Process) -> Iterator[StageFigures]:
    stage_figures = figures.setdefault(stage, StageFigures())
    started, cpu_before = time.perf_counter(), process.cpu_times()
    with RssSampler(process) as sampler:
        yield stage_figures
    cpu_after = process.cpu_times()
    stage_figures.wall_s = time.perf_counter() - started
    stage_figures.cpu_s = round((cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system), 2)
    stage_figures.peak_rss_mb = sampler.peak_mb
    print(f"{stage:<12} {stage_figures.wall_s:9.2f} s  peak {stage_figures.peak_rss_mb:8.1f} MiB  "
          f"CPU {stage_figures.cpu_s:8.2f} s  {stage_figures.extra or ''}", flush=True)


def in_a_fresh_process(bench_arguments: list[str], what: str) -> dict:
    """`stripe-close bench <bench_arguments>` in its own process (nothing imported or parsed by an earlier
    size): its output passed on as it comes, its JSON last line returned."""
    last = ""
    with subprocess.Popen([sys.executable, "-m", "orchestration.cli", "bench", *bench_arguments], stdout=subprocess.PIPE, text=True) as child:
        for line in child.stdout:
            print(line, end="", flush=True)
            last = line
    if child.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {child.returncode})")
    return json.loads(last)


def start_sandbox(spec: WorldSpec) -> tuple[subprocess.Popen, str]:
    """`sandbox serve` for a client that reads balance transactions and payouts only: its sales detail
    is never built (at a million transactions it would take 12 GB)."""
    command = [
        sys.executable, "-m", "orchestration.cli", "sandbox", "serve", "--port", "0", "--api-key", BENCH_API_KEY,
        "--seed", str(spec.seed), "--start", spec.start.isoformat(), "--days", str(spec.days),
        "--transactions-per-day", str(spec.transactions_per_day), "--source-objects", "on-demand",
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    url = server.stdout.readline().strip()
    if not url.startswith("http"):
        server.kill()
        raise RuntimeError(f"the sandbox server did not start (said {url!r})")
    return server, url


def run_chain_benchmark(transactions: int, days: int, seed: int, workdir: Path) -> int:
    spec = WorldSpec(seed=seed, days=days, transactions_per_day=max(1, transactions // days))
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    warehouse_file = (workdir / "warehouse.duckdb").resolve()
    figures: dict[str, StageFigures] = {}
    print(f"Benchmark: {spec.days * spec.transactions_per_day:,} activity transactions over {spec.days} days", flush=True)

    started = time.perf_counter()
    server, url = start_sandbox(spec)
    sandbox_start_s = time.perf_counter() - started
    print(f"{'sandbox':<12} {sandbox_start_s:9.2f} s  (simulate the world and start the API in its own process)", flush=True)
    me = psutil.Process()
    try:
        window = Window(
            datetime.combine(spec.start, datetime.min.time(), tzinfo=timezone.utc),
            datetime.combine(spec.start + timedelta(days=spec.days), datetime.min.time(), tzinfo=timezone.utc),
        )
        with measured(figures, "ingest", me) as stage:
            with warehouse.connect(warehouse_file) as connection:
                # Paced at Stripe's live-mode limit, as a production run would be.
                # Balance transactions and payouts only, as the chain's figures always were: the sandbox's sales
                # detail costs about 1.2 GB per 100,000 transactions (`stripe-close bench ingest` measures it).
                stats = ingest(StripeApiSettings(api_key=BENCH_API_KEY, api_base=url, max_requests_per_second=100, source_objects="off"),
                               connection, window)
            stage.extra = {
                "objects": stats.balance_transactions + stats.payouts + stats.payout_transactions,
                "requests": stats.requests,
                "objects_per_s": round((stats.balance_transactions + stats.payouts + stats.payout_transactions) / stats.seconds),
            }
    finally:
        server.terminate()
        server.wait()

    environment = {**os.environ, "CLOSE_WAREHOUSE": str(warehouse_file)}
    with measured(figures, "dbt_build", me):
        subprocess.run(
            [dbt_executable(), "build", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
            env=environment, check=True,
        )
    with measured(figures, "export", me) as stage:
        settings = ExportSettings.from_env({"CLOSE_EXPORT_DIR": str(workdir / "exports")})
        periods = periods_between(spec.start, spec.start + timedelta(days=spec.days - 1))
        exported = [file for period in export_periods(warehouse_file, settings, "netsuite", periods) for file in period.files]
        stage.extra = {"files": len(exported), "lines": sum(file.rows for file in exported)}

    summary = {
        "transactions": stats.balance_transactions,
        "sandbox_start_s": round(sandbox_start_s, 2),
        "wall_s": round(sum(f.wall_s for f in figures.values()), 2),
        "peak_rss_mb": round(max(f.peak_rss_mb for f in figures.values()), 1),
        "stages": {name: f.as_dict() for name, f in figures.items()},
    }
    print(json.dumps(summary, sort_keys=True))
    return 0
