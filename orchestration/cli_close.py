"""`stripe-close close`, `reopen`, `bench close` and `bench continuous`: period close from a shell.

`close --period YYYY-MM` checks the accounting configuration, builds the ledger with every proof,
runs the GX suites, and only then locks the month, freezing every entity's close package with it
(its status block shows those proofs, at the lock's time); it builds once more so the ledger serves the locked month from its frozen lines. `reopen` needs a
reason, which is kept in the close history.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from exporters.close_package.frozen import lock_with_packages
from ledger import accounting_config, period_close
from ledger.config import CloseSettings
from ledger.dbt_build import LedgerBuildFailed, build_ledger, build_warnings
from ledger.engine import ENGINES
from orchestration.cli_args import UserMistake, add_command, at_least, period
from orchestration.cli_guards import require_built
from orchestration.wording import counted
from sandbox.merchant import MIN_DAYS


def register(subcommands: argparse._SubParsersAction, bench_targets: argparse._SubParsersAction) -> None:
    close = add_command(subcommands, "close", "prove the books and lock an accounting period", "stripe-close close --period 2026-10",
                        description="Check the accounting configuration, build the ledger with every proof, run the GX suites, "
                        "and only then lock the month; later facts post to the first open period as adjustments.")
    close.add_argument("--period", type=period, required=True, help="the month to lock, YYYY-MM")
    close.add_argument("--actor", default=None, help="who locks it (default: the OS user)")
    close.add_argument("--allow-empty", action="store_true", help="lock the month even though it has no journal lines")
    close.set_defaults(handler=_close)

    reopen = add_command(subcommands, "reopen", "unlock a locked period, with a reason kept on record",
                         'stripe-close reopen --period 2026-10 --reason "late refund from the bank"')
    reopen.add_argument("--period", type=period, required=True, help="the month to reopen, YYYY-MM")
    reopen.add_argument("--reason", required=True, help="why it is reopened (recorded)")
    reopen.add_argument("--actor", default=None, help="who reopens it (default: the OS user)")
    reopen.set_defaults(handler=_reopen)

    bench_close = add_command(bench_targets, "close", "time dbt build and every proof on raw tables of N transactions",
                              "stripe-close bench close --sizes 1000000,10000000")
    bench_close.add_argument("--transactions", type=at_least(1), default=1_000_000, help="transactions to build (default 1,000,000)")
    bench_close.add_argument("--sizes", default=None,
                             help="comma-separated transaction counts to show how time grows, e.g. 1000000,10000000")
    bench_close.add_argument("--days", type=at_least(MIN_DAYS), default=30, help=f"days the transactions spread over (at least {MIN_DAYS}, default 30)")
    bench_close.add_argument("--seed", type=int, default=7, help="the generator's seed (default 7)")
    bench_close.add_argument("--workdir", type=Path, default=Path(".close/bench"), help="where the benchmark's warehouse goes")
    bench_close.add_argument("--source-objects", action="store_true",
                             help="land source objects too (charges, invoices, credit notes, the catalog, ...), drawn "
                                  "column-wise (sandbox.sales_columns): seconds per million transactions, not counted")
    bench_close.add_argument("--engine", choices=ENGINES, default="duckdb",
                             help="spark: build what Spark builds so far on DuckDB, then on a local Spark session, and print both")
    bench_close.set_defaults(handler=_bench_close)

    bench_continuous = add_command(
        bench_targets, "continuous", "time one hourly continuous-close run on warehouses holding a long history",
        "stripe-close bench continuous --histories 1000000,3000000",
        description="Per history size, in a fresh process: land that many transactions, then time the hourly run "
        "(ingest the last hour and late facts from the sandbox API, windowed ledger build, every proof) "
        "and a whole build for comparison.")
    bench_continuous.add_argument("--histories", default="100000,300000",
                                  help="comma-separated history sizes in transactions (default 100000,300000)")
    bench_continuous.add_argument("--history", type=at_least(1), default=None, help="one history size, in this process")
    bench_continuous.add_argument("--transactions-per-day", type=at_least(24), default=None,
                                  help=f"the merchant's transactions a day (default: the smallest history over {MIN_DAYS} days, "
                                       "at most 30,000, about 1,250 an hour)")
    bench_continuous.add_argument("--seed", type=int, default=7, help="the simulation's seed (default 7)")
    bench_continuous.add_argument("--simulated-days", type=at_least(MIN_DAYS), default=None,
                                  help="simulate only the last N days of every history (the same days for each) and land the days "
                                       "before them as copies of those (default: simulate each history whole)")
    bench_continuous.add_argument("--world-start", type=date.fromisoformat, default=None, help=argparse.SUPPRESS)
    bench_continuous.add_argument("--workdir", type=Path, default=Path(".close/bench"), help="where the benchmark's warehouses go")
    bench_continuous.set_defaults(handler=_bench_continuous)


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 1


def _close(args: argparse.Namespace) -> int:
    # Great Expectations takes seconds to import: only the commands that prove the books load it.
    from ledger.checks.validate import run_suites
    # The code location's list of blocking checks, which the frozen packages show.
    from orchestration.defs.export.guard import proofs_at_lock

    settings = CloseSettings.from_env()
    require_built(settings.warehouse, ingested_only=True)
    try:
        period_close.validate_period(args.period)
        accounting_config.validate()
        build_ledger(settings.warehouse, settings.process_environment())
    except (period_close.PeriodCloseError, accounting_config.AccountingConfigError, LedgerBuildFailed) as error:
        return _fail(f"{args.period} was NOT locked: {error}")
    results = run_suites(settings.warehouse)
    failed = [result.describe() for result in results if not result.success]
    if failed:
        return _fail(f"{args.period} was NOT locked: a proof failed:\n" + "\n".join(failed))
    # Said after the lock, and never as passed: proofs not evaluated (no balance snapshot), money in suspense.
    unevaluated, warned_tests = [result for result in results if not result.evaluated], build_warnings(settings.warehouse)
    warnings = [result.describe() for result in unevaluated] + [node.describe() for node in warned_tests]
    # The packages frozen with the lock show the proofs this close just ran, not an earlier run's record.
    proofs = proofs_at_lock({**{f"gx_{result.name}": result.describe() for result in unevaluated},
                             **{node.name.split('.')[0]: node.message for node in warned_tests}})
    try:
        lock = lock_with_packages(settings.warehouse, args.period, settings.entity_id, args.actor, args.allow_empty,
                                  proofs=proofs, reporting_timezone=settings.reporting_timezone)
    except period_close.PeriodCloseError as error:
        return _fail(f"{args.period} was NOT locked: {error}")
    try:
        build_ledger(settings.warehouse, settings.process_environment())
    except LedgerBuildFailed as error:
        return _fail(f"{lock.period} is locked, but the ledger could not be rebuilt to serve it: {error}")
    print(f"Locked {lock.period} at {lock.locked_at:%Y-%m-%d %H:%M:%S} UTC by {lock.locked_by}: "
          f"{counted(lock.journal_lines, 'journal line')}, {counted(lock.source_rows, 'drill-down row')} frozen; "
          + (f"close packages of {', '.join(lock.frozen_packages)} frozen" if lock.frozen_packages else "no close package to freeze"))
    for warning in warnings:
        print(f"Warning: {warning}")
    return 0


def _reopen(args: argparse.Namespace) -> int:
    settings = CloseSettings.from_env()
    require_built(settings.warehouse)
    try:
        # The rebuild after the reopen loads the seeds: a bad row must stop the reopen, not the rebuild.
        accounting_config.validate()
        event = period_close.reopen_period(settings.warehouse, args.period, args.reason, args.actor)
    except (period_close.PeriodCloseError, accounting_config.AccountingConfigError) as error:
        return _fail(f"{args.period} was NOT reopened: {error}")
    try:
        build_ledger(settings.warehouse, settings.process_environment())
    except LedgerBuildFailed as error:
        return _fail(f"{event.period} is reopened, but the ledger could not be rebuilt: {error}")
    print(f"Reopened {event.period} at {event.happened_at:%Y-%m-%d %H:%M:%S} UTC by {event.actor}: {event.reason}")
    return 0


def _bench_close(args: argparse.Namespace) -> int:
    from orchestration.bench_close import run_close_benchmark

    sizes = [int(size) for size in args.sizes.split(",")] if args.sizes else [args.transactions]
    return run_close_benchmark(sizes, args.days, args.seed, Path(args.workdir) / "close", args.source_objects, args.engine)


def _bench_continuous(args: argparse.Namespace) -> int:
    from orchestration.bench_continuous import default_transactions_per_day, history_spec, run_continuous_benchmark

    histories = [args.history] if args.history else [int(size) for size in args.histories.split(",")]
    transactions_per_day = args.transactions_per_day or default_transactions_per_day(histories)
    for history in histories:
        try:
            history_spec(history, transactions_per_day, args.seed, args.simulated_days)
        except ValueError as too_short:
            raise UserMistake(str(too_short)) from None
    return run_continuous_benchmark(histories, transactions_per_day, args.seed, Path(args.workdir) / "continuous",
                                    args.simulated_days, args.world_start)
