"""`stripe-close bench close`: the ledger alone (dbt build with every proof, then the GX suites) on
a large simulated month, with wall time and peak memory.

The raw tables are filled straight from the simulator's arrow tables (sandbox.raw_tables), not
through the HTTP API, so the figures measure the ledger. Simulating and loading are printed but
not counted. dbt runs in this process (ledger.dbt_runner) and its start-up is counted as a
deployment pays it: a run starts a fresh process, imports dbt and finds the parse an earlier
process saved in the target folder (written here by the loading process). Likewise the warehouse
holds the accounting configuration (the dbt seeds) an earlier run loaded and tested, so the
build, as every build after the first, leaves the unchanged seeds alone (ledger.dbt_seeds).
Great Expectations is imported with this module, before any stage, and not counted. Peak memory covers this process; the simulation runs in a child process that has
exited before the measured stages start. With several sizes (each in a process of its own) the
figures show how time grows; the last line printed is one JSON object, for scripts.

With `--engine spark` it builds what Spark builds so far (ledger.engine.SPARK_MODELS, with their
singular proofs) twice from the same raw tables: on DuckDB, then on a local Spark session
(dbt-spark, `local[2]`), and prints both. The Spark figure includes writing the raw tables as
parquet and starting the session (a JVM, its memory counted with this process's; its CPU is
reported apart, `jvm_cpu_s`). The GX suites read DuckDB and are not run.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import time
from pathlib import Path

import psutil

from ledger import warehouse
from ledger.checks.validate import run_suites
from ledger.dbt_build import build_ledger, load_configuration, parse_ledger
from ledger.engine import SPARK_MODELS
from orchestration.bench import StageFigures, in_a_fresh_process, measured
from sandbox.merchant import WorldSpec, simulate
from sandbox.raw_tables import load_world

BENCH_CURRENCIES = ("usd", "eur", "gbp", "jpy", "kwd")


def close_benchmark(transactions: int, days: int, seed: int, workdir: Path, source_objects: bool = False, engine: str = "duckdb") -> dict:
    """One size: returns its figures; raises if a proof fails (a fast wrong ledger is no result)."""
    spec = WorldSpec(seed=seed, days=days, transactions_per_day=max(1, transactions // days), currencies=BENCH_CURRENCIES)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    warehouse_file = (workdir / "warehouse.duckdb").resolve()
    print(f"Benchmark close: {spec.days * spec.transactions_per_day:,} activity transactions over {spec.days} days, "
          f"currencies {', '.join(spec.currencies)}", flush=True)

    # In a child process: the simulator's arrays stay out of the measured process's memory.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        simulate_s, load_s, counts = pool.apply(_simulate_and_load, (spec, warehouse_file, source_objects))
    print(f"{'simulate':<12} {simulate_s:9.2f} s  (not counted)\n{'load raw':<12} {load_s:9.2f} s  (not counted; with the saved parse and the accounting configuration of an earlier run) {counts}", flush=True)

    figures: dict[str, StageFigures] = {}
    me = psutil.Process()
    with measured(figures, "dbt_parse", me):
        parse_ledger(warehouse_file)
    if engine == "spark":
        _build_on_both_engines(warehouse_file, figures, me)
    else:
        with measured(figures, "dbt_build", me):
            build_ledger(warehouse_file)
        with measured(figures, "gx_checks", me) as stage:
            results = run_suites(warehouse_file)
            stage.extra = {"suites": len(results), "failed": [r.name for r in results if not r.success]}
        failed = [r.describe() for r in results if not r.success]
        if failed:
            raise RuntimeError("a proof failed on the benchmark world:\n" + "\n".join(failed))
    return {
        "transactions": counts["stripe_balance_transactions"],
        "engine": engine,
        "source_objects": source_objects,
        "wall_s": round(sum(f.wall_s for f in figures.values()), 2),
        "peak_rss_mb": round(max(f.peak_rss_mb for f in figures.values()), 1),
        "cpu_s": round(sum(f.cpu_s for f in figures.values()), 2),
        "simulate_s": round(simulate_s, 2),
        "load_s": round(load_s, 2),
        "stages": {name: f.as_dict() for name, f in figures.items()},
    }



def _build_on_both_engines(warehouse_file: Path, figures: dict[str, StageFigures], me: psutil.Process) -> None:
    """What Spark builds so far, with its singular proofs, on DuckDB and then on Spark (the column
    tests left out on both: Spark pays a second or more per node for each)."""
    selection = {"select": SPARK_MODELS, "exclude": ("test_type:generic",)}
    with measured(figures, "duckdb_same_models", me):
        build_ledger(warehouse_file, {"CLOSE_ENGINE": "duckdb"}, **selection)
    with measured(figures, "spark_build", me) as stage:
        build_ledger(warehouse_file, {"CLOSE_ENGINE": "spark"}, **selection)
        jvm = [child for child in me.children(recursive=True) if child.name() == "java"]
        stage.extra = {"jvm_cpu_s": round(sum(sum(child.cpu_times()[:2]) for child in jvm), 2)}


def _simulate_and_load(spec: WorldSpec, warehouse_file: Path, source_objects: bool) -> tuple[float, float, dict[str, int]]:
    started = time.perf_counter()
    world = simulate(spec)
    simulate_s = time.perf_counter() - started
    started = time.perf_counter()
    with warehouse.connect(warehouse_file) as connection:
        counts = load_world(connection, world, source_objects, generated_sales=True)
    # What a deployed ledger keeps from its previous run: the saved parse and the loaded configuration.
    load_configuration(warehouse_file)
    return simulate_s, time.perf_counter() - started, counts


def _in_a_fresh_process(size: int, days: int, seed: int, workdir: Path, source_objects: bool, engine: str) -> dict:
    """One size in its own `stripe-close bench close` process, as a deployment starts each run:
    nothing parsed or imported by the size before it. Its output is passed on; its JSON line returned."""
    return in_a_fresh_process(["close", "--transactions", str(size), "--days", str(days), "--seed", str(seed), "--workdir", str(workdir.parent),
                               *(["--source-objects"] if source_objects else []), "--engine", engine],
                              f"the benchmark of {size:,} transactions")


def run_close_benchmark(sizes: list[int], days: int, seed: int, workdir: Path, source_objects: bool = False, engine: str = "duckdb") -> int:
    if len(sizes) == 1:
        runs = [close_benchmark(sizes[0], days, seed, workdir / str(sizes[0]), source_objects, engine)]
    else:
        runs = [_in_a_fresh_process(size, days, seed, workdir, source_objects, engine) for size in sizes]
    if len(runs) > 1:
        base = runs[0]
        print("Scaling (seconds per million transactions should stay flat if time grows linearly):")
        for run in runs:
            per_million = run["wall_s"] / (run["transactions"] / 1_000_000)
            print(f"  {run['transactions']:>12,} transactions  {run['wall_s']:8.2f} s  {per_million:6.2f} s/M  "
                  f"x{run['wall_s'] / base['wall_s']:.2f} time for x{run['transactions'] / base['transactions']:.2f} data  "
                  f"peak {run['peak_rss_mb']:.0f} MiB", flush=True)
    summary = {**runs[-1], "series": [{k: run[k] for k in ("transactions", "wall_s", "peak_rss_mb")} for run in runs]}
    print(json.dumps(summary, sort_keys=True))
    return 0
