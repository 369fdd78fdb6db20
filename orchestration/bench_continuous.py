"""`stripe-close bench continuous`: what one hourly continuous-close run costs on a warehouse that
already holds a long history, and whether that cost follows the hour's data or the history.

Per history size (each in a fresh process, as a deployment starts each run):

1. A merchant of `transactions_per_day` a day is simulated for `history // transactions_per_day`
   days; its state one hour before the end lands straight in the raw tables (sandbox.raw_tables),
   less a few hundred transactions of the day before the close window: the late facts (unlisted
   when the history was read, as Stripe lists some transactions late). The history has no balance
   snapshot (Stripe's balance would include the late facts). The ledger is built whole once, with
   the saved parse and the loaded configuration a deployment keeps (not counted).
2. The hourly run, timed stage by stage (wall and CPU): ingestion of balance transactions and
   payouts (no source objects, as the history has none) from the sandbox Stripe API over
   HTTP (the real stripe SDK: the incremental window from the cursors, with its overlap, and the
   re-read of the late facts' ten minutes, as `stripe-close ingest --start` would), the windowed
   ledger build (yesterday and today: the nodes whose inputs the hour changed, with every proof
   that reads them, ledger.dbt_window_selection) and the Great Expectations suites.
   Every proof must pass: a fast wrong ledger is no result.
3. For comparison, a whole build with every proof on the same data: what an hourly run had to do
   before windowed builds booked late facts.

The last line printed is one JSON object, for scripts.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import shutil
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import psutil

from ledger import warehouse
from ledger.checks.validate import run_suites
from ledger.dbt_build import CloseWindow, build_ledger, load_configuration, parse_ledger, target_dir
from ledger.sources.stripe_api import STREAMS, StripeApiSettings, Window, ingest, plan_window
from orchestration.bench_earlier_history import land_earlier_copies
from orchestration.bench import BENCH_API_KEY, RssSampler, StageFigures, in_a_fresh_process, measured, start_sandbox
from sandbox.merchant import MIN_DAYS, OWN_ACCOUNT_ID, WorldSpec, simulate
from sandbox.raw_tables import load_world

HOUR = timedelta(hours=1)
# The busiest merchant the benchmark simulates: about 1,250 transactions an hour.
BUSIEST_DAY = 30_000
# The late facts: transactions of the last minutes before the close window, not yet in a payout.
LATE_SPAN = timedelta(minutes=10)


def default_transactions_per_day(histories: list[int]) -> int:
    """One rate for every history, so that each hourly run reads the same hour: the busiest day up to
    BUSIEST_DAY at which the smallest history still spans the sandbox's MIN_DAYS."""
    return max(1, min(BUSIEST_DAY, min(histories) // MIN_DAYS))


@dataclasses.dataclass(frozen=True)
class HistoryPlan:
    """The simulated world, and how many copies of its span land before it (bench_earlier_history)."""

    world: WorldSpec
    earlier_copies: int = 0


def history_spec(history: int, transactions_per_day: int, seed: int, simulated_days: int | None = None,
                 world_start: date | None = None) -> HistoryPlan:
    """The simulated merchant whose history holds about `history` transactions: simulated whole, or
    with `simulated_days` its last days simulated (from `world_start`, so that every history of a run
    reads the same hour) and the days before them copies of those."""
    days = history // transactions_per_day
    if days < MIN_DAYS:
        raise ValueError(f"a history of {history:,} transactions at {transactions_per_day:,} a day is {days} days; "
                         f"the sandbox needs at least {MIN_DAYS}: give more transactions or fewer a day")
    if simulated_days is None:
        return HistoryPlan(WorldSpec(seed=seed, days=days, transactions_per_day=transactions_per_day))
    simulated = min(days, simulated_days)
    start = world_start or WorldSpec.start
    return HistoryPlan(WorldSpec(seed=seed, start=start, days=simulated, transactions_per_day=transactions_per_day),
                       earlier_copies=round(days / simulated) - 1)


def simulated_world_start(histories: list[int], transactions_per_day: int, simulated_days: int) -> date:
    """Where the simulated days start: the longest history's copies begin on WorldSpec's first day
    (the fx rates seed covers it), and every shorter history simulates the same days."""
    longest = max(histories) // transactions_per_day
    return WorldSpec.start + timedelta(days=max(0, longest - simulated_days))


def continuous_benchmark(history: int, plan: HistoryPlan, workdir: Path) -> dict:
    """One history size: the hourly run's figures and the whole build's; raises if a proof fails."""
    spec = plan.world
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    warehouse_file = (workdir / "warehouse.duckdb").resolve()
    end = datetime.fromtimestamp(spec.end_ts, tz=timezone.utc)
    # The hourly run just after the last hour: yesterday and today, as the continuous_close schedule.
    window = CloseWindow(end.date() - timedelta(days=1), end.date() + timedelta(days=1))
    print(f"Benchmark continuous: {spec.days} days of {spec.transactions_per_day:,} transactions a day"
          + (f" after {plan.earlier_copies} copies of them" if plan.earlier_copies else "") + ", then the hour to "
          f"{end:%Y-%m-%d %H:%M} UTC; close window {window.start} to {window.end} (exclusive)", flush=True)

    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        history_counts, late_ids = pool.apply(_land_history, (plan, warehouse_file, end - HOUR, window.start))
    load_configuration(warehouse_file)
    build_ledger(warehouse_file)
    print(f"{'history':<12} {time.perf_counter() - started:9.2f} s  (not counted: simulate, land, build whole) "
          f"{history_counts['stripe_balance_transactions']:,} transactions, {len(late_ids)} held back as late facts", flush=True)

    figures: dict[str, StageFigures] = {}
    me = psutil.Process()
    server, url = start_sandbox(spec)
    # The stand-in for Stripe is no part of the hourly run, but its memory decides whether the bench can run at all.
    server_memory = RssSampler(psutil.Process(server.pid), include_children=False)
    try:
        with server_memory:
            with measured(figures, "dbt_parse", me):
                parse_ledger(warehouse_file)
            with measured(figures, "ingest", me) as stage:
                landed = _ingest_the_hour(url, warehouse_file, end, window.start)
                stage.extra = landed
    finally:
        server.terminate()
        server.wait()
    print(f"{'sandbox':<12} peak {server_memory.peak_mb:8.1f} MiB  (the sandbox Stripe server, from its start to the end of the ingestion)", flush=True)
    with measured(figures, "dbt_build", me) as stage:
        build_ledger(warehouse_file, window=window)
        stage.extra = {"rebuilt_days": _rebuilt_days(warehouse_file), "slowest_nodes": slowest_nodes(warehouse_file),
                       "node_seconds": node_seconds(warehouse_file)}
    with measured(figures, "gx_checks", me) as stage:
        results = run_suites(warehouse_file)
        stage.extra = {"suites": len(results)}
    _require_passing(results)
    late_booked = _booked(warehouse_file, late_ids)
    if late_booked != len(late_ids):
        raise RuntimeError(f"the hourly run booked {late_booked} of the {len(late_ids)} late facts")
    hourly = {name: f.as_dict() for name, f in figures.items()}

    whole: dict[str, StageFigures] = {}
    with measured(whole, "whole_build", me) as stage:
        build_ledger(warehouse_file)
        _require_passing(run_suites(warehouse_file))
        stage.extra = {"slowest_nodes": slowest_nodes(warehouse_file), "node_seconds": node_seconds(warehouse_file)}
    return {
        "history_transactions": history_counts["stripe_balance_transactions"],
        "hour_transactions": landed["balance_transactions"],
        "late_facts": len(late_ids),
        "hourly_wall_s": round(sum(f.wall_s for f in figures.values()), 2),
        "hourly_cpu_s": round(sum(f.cpu_s for f in figures.values()), 2),
        "hourly_peak_rss_mb": round(max(f.peak_rss_mb for f in figures.values()), 1),
        "whole_build_wall_s": round(whole["whole_build"].wall_s, 2),
        "whole_build_cpu_s": whole["whole_build"].cpu_s,
        "sandbox_peak_rss_mb": round(server_memory.peak_mb, 1),
        "stages": hourly,
    }


def _land_history(plan: HistoryPlan, warehouse_file: Path, history_end: datetime, window_start: date) -> tuple[dict[str, int], list[str]]:
    """In a child process: the world as Stripe showed it at `history_end`, less the late facts and
    the balance snapshot, after the plan's earlier copies of it. Returns the row counts and the late facts' ids."""
    world = simulate(plan.world)
    history = dataclasses.replace(world, as_of=int(history_end.timestamp()))
    late_from = datetime.combine(window_start, datetime.min.time()) - LATE_SPAN
    with warehouse.connect(warehouse_file) as connection:
        # Millions of transactions of history: their source objects would take longer to generate than the run measured.
        counts = load_world(connection, history, source_objects=False)
        late_ids = [row[0] for row in connection.execute(
            "select id from raw.stripe_balance_transactions_landed where created >= ? and created < ? "
            "and id not in (select balance_transaction_id from raw.stripe_payout_transactions) order by id",
            [late_from, late_from + LATE_SPAN],
        ).fetchall()]
        with warehouse.transaction(connection):
            for table, key in (("stripe_balance_transactions_landed", "id"), ("stripe_fee_details_landed", "balance_transaction_id")):
                connection.execute(f"delete from raw.{table} where {key} in (select unnest(?))", [late_ids])
            connection.execute("delete from raw.stripe_balance_snapshots")
            # The API stamps the account it read (the sandbox's own): the history carries it too.
            for table in warehouse.STRIPE_ACCOUNT_TABLES:
                connection.execute(f"update {warehouse.landed_table(table)} set stripe_account_id = ?", [OWN_ACCOUNT_ID])
            counts["stripe_balance_transactions"] += land_earlier_copies(
                connection, plan.earlier_copies, datetime.combine(plan.world.start, datetime.min.time()), plan.world.days)
            # Where a run that read everything up to an hour ago leaves the cursors.
            for stream in STREAMS:
                warehouse.write_cursor(connection, stream, history_end.replace(tzinfo=None))
    return counts, late_ids


def _ingest_the_hour(url: str, warehouse_file: Path, now: datetime, window_start: date) -> dict[str, int]:
    """The hourly ingestion from the sandbox API, then the re-read of the late facts' minutes."""
    # No source objects: the history has none (see _land_history), so the hour's refunds would refund
    # charges whose invoices and products were never read.
    settings = StripeApiSettings(api_key=BENCH_API_KEY, api_base=url, max_requests_per_second=100, source_objects="off")
    late_from = datetime.combine(window_start, datetime.min.time(), tzinfo=timezone.utc) - LATE_SPAN
    with warehouse.connect(warehouse_file) as connection:
        hour = ingest(settings, connection, plan_window(connection, settings, None, None, now, first_run_days=2), now=now)
        late = ingest(settings, connection, Window(late_from, late_from + LATE_SPAN), now=now)
    return {
        "balance_transactions": hour.balance_transactions,
        "late_window_transactions": late.balance_transactions,
        "payouts": hour.payouts + late.payouts,
        "requests": hour.requests + late.requests,
    }


def _require_passing(results) -> None:
    failed = [result.describe() for result in results if not result.success]
    if failed:
        raise RuntimeError("a proof failed on the benchmark world:\n" + "\n".join(failed))


def _rebuilt_days(warehouse_file: Path) -> int:
    with warehouse.connect(warehouse_file) as connection:
        return connection.execute("select count(*) from main.int_journal_rebuild_days").fetchall()[0][0]


def _booked(warehouse_file: Path, ids: list[str]) -> int:
    with warehouse.connect(warehouse_file) as connection:
        return connection.execute(
            "select count(distinct source_id) from main.fct_journal_source_records where source_id in (select unnest(?))", [ids]
        ).fetchall()[0][0]


def slowest_nodes(warehouse_file: Path, count: int = 8) -> dict[str, float]:
    """dbt's own timing of the last build's slowest nodes (run_results.json), in seconds."""
    results = json.loads((target_dir(warehouse_file) / "run_results.json").read_text())["results"]
    timed = sorted(results, key=lambda result: result["execution_time"], reverse=True)[:count]
    return {result["unique_id"].split(".")[-1]: round(result["execution_time"], 2) for result in timed}


def node_seconds(warehouse_file: Path) -> dict[str, dict[str, float]]:
    """Per kind of node (model, test, seed) of the last build: how many ran and dbt's summed time for
    them; the build's wall time less these sums is dbt's own cost around the nodes."""
    results = json.loads((target_dir(warehouse_file) / "run_results.json").read_text())["results"]
    kinds: dict[str, dict[str, float]] = {}
    for result in results:
        kind = kinds.setdefault(result["unique_id"].split(".")[0], {"nodes": 0, "seconds": 0.0})
        kind["nodes"] += 1
        kind["seconds"] = round(kind["seconds"] + result["execution_time"], 2)
    return kinds


def _in_a_fresh_process(history: int, transactions_per_day: int, seed: int, simulated: list[str], workdir: Path) -> dict:
    return in_a_fresh_process(["continuous", "--history", str(history), "--transactions-per-day", str(transactions_per_day), "--seed", str(seed),
                               *simulated, "--workdir", str(workdir.parent)], f"the continuous benchmark on {history:,} transactions")


def run_continuous_benchmark(histories: list[int], transactions_per_day: int, seed: int, workdir: Path,
                             simulated_days: int | None = None, world_start: date | None = None) -> int:
    if simulated_days is not None:
        world_start = world_start or simulated_world_start(histories, transactions_per_day, simulated_days)
    if len(histories) == 1:
        plan = history_spec(histories[0], transactions_per_day, seed, simulated_days, world_start)
        runs = [continuous_benchmark(histories[0], plan, workdir / str(histories[0]))]
    else:
        simulated = [] if simulated_days is None else ["--simulated-days", str(simulated_days), "--world-start", world_start.isoformat()]
        runs = [_in_a_fresh_process(history, transactions_per_day, seed, simulated, workdir) for history in histories]
    print("Hourly run (ingest + windowed ledger + every proof) against the whole build, per history:")
    for run in runs:
        print(f"  {run['history_transactions']:>12,} history  {run['hour_transactions']:>6,} new + {run['late_facts']} late  "
              f"hourly {run['hourly_wall_s']:7.2f} s wall {run['hourly_cpu_s']:7.2f} s CPU  "
              f"whole build {run['whole_build_wall_s']:7.2f} s wall {run['whole_build_cpu_s']:7.2f} s CPU", flush=True)
    if len(runs) > 1:
        print(f"  hourly cost, largest history against smallest: x{runs[-1]['hourly_wall_s'] / runs[0]['hourly_wall_s']:.2f} wall, "
              f"x{runs[-1]['hourly_cpu_s'] / runs[0]['hourly_cpu_s']:.2f} CPU for "
              f"x{runs[-1]['history_transactions'] / runs[0]['history_transactions']:.2f} history", flush=True)
    summary = {**runs[-1], "series": [{k: run[k] for k in ("history_transactions", "hourly_wall_s", "hourly_cpu_s", "whole_build_wall_s")} for run in runs]}
    print(json.dumps(summary, sort_keys=True))
    return 0
