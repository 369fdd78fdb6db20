"""`stripe-close`: run the close, the demo, the sandbox and the benchmarks from a shell."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path

from exporters.close_package.presentation import display_amount
from ledger.config import CloseSettings, ConfigError
from ledger.sources.stripe_http import StripeRequestFailed
from ledger.warehouse_lock import WaitInterrupted, claim_warehouse
from orchestration import cli_backfill, cli_bank, cli_close, cli_export, cli_ingest, cli_package, progress, run_log
from orchestration.bank_summary import bank_summary
from orchestration.cli_args import OneLineParser, UserMistake, add_command, add_verbose, at_least, command_name, day, require_ordered
from orchestration.cli_guards import require_bank_inbox, require_stripe_api
from orchestration.wording import counted, files_summary
from sandbox.merchant import MIN_DAYS

SANDBOX_API_KEY = "sk_test_sandbox_stripe_close"
# The commands that write CLOSE_WAREHOUSE: each holds it for its whole run (ledger/warehouse_lock.py).
WAREHOUSE_COMMANDS = frozenset({"run", "demo", "backfill", "ingest", "close", "reopen", "export", "package", "bank load"})


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logs: list[run_log.CommandLog] = []
    code = _execute(args, logs)
    written = logs[0].written if logs else None
    if code != 0 and written is not None:
        # What failed was said above; dbt's and Dagster's own account of it is in the log.
        print(f"stripe-close {command_name(args)}: the log is {written}", file=sys.stderr)
    return code


def _execute(args: argparse.Namespace, logs: list[run_log.CommandLog]) -> int:
    """The command's exit code; a user mistake is one line on stderr. `logs` receives the command's log."""
    try:
        with _warehouse_claim(args), _shown(args, logs):
            return args.handler(args)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    except StripeRequestFailed as error:
        # Stripe refused the key or kept failing: the message names the request and what to do.
        print(f"error: {error}", file=sys.stderr)
        return 1
    except UserMistake as error:
        print(f"stripe-close {command_name(args)}: {error}", file=sys.stderr)
        return error.exit_code
    except WaitInterrupted as error:
        print(f"stripe-close {args.command}: {error}", file=sys.stderr)
        return 128 + error.signum


def _warehouse_claim(args: argparse.Namespace) -> contextlib.AbstractContextManager:
    if command_name(args) not in WAREHOUSE_COMMANDS:
        return contextlib.nullcontext()
    return claim_warehouse(CloseSettings.from_env().warehouse, holder_runs=_runs_of)


@contextlib.contextmanager
def _shown(args: argparse.Namespace, logs: list[run_log.CommandLog]) -> Iterator[None]:
    """For the commands that close, build or write: progress on stderr, dbt's and Dagster's logs in
    the command's log file (or on stderr with --verbose)."""
    if command_name(args) not in WAREHOUSE_COMMANDS:
        yield
        return
    with run_log.command_log(CloseSettings.from_env().warehouse, command_name(args), args.verbose) as log, progress.shown_on(sys.stderr):
        logs.append(log)
        yield


def _runs_of(holder) -> list[str]:
    """The unfinished Dagster runs of the process holding the warehouse (its run tags name it)."""
    from orchestration.dead_runs import runs_of_process
    from orchestration.instance import persistent_instance

    return runs_of_process(persistent_instance(), holder.pid, holder.host)


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="stripe-close", description=__doc__, epilog="example: stripe-close demo; stripe-close run --help")
    add_verbose(parser)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = add_command(commands, "demo", "close one simulated month against the sandbox Stripe API", "stripe-close demo --days 12",
                       description="Simulate a merchant, serve it as a local Stripe API, close its month end to end and compare "
                       "the ledger with the simulator's ground truth to the minor unit.")
    _world_arguments(demo)
    demo.set_defaults(handler=_demo)

    run = add_command(commands, "run", "close a date window against STRIPE_API_BASE / CLOSE_WAREHOUSE",
                      "stripe-close run --start 2026-10-01 --end 2026-10-31",
                      description="Ingest the window from CLOSE_SOURCE, build the ledger with every proof, match the bank "
                      "statements and write the exports of its months. Needs STRIPE_API_KEY (except for data_pipeline).")
    run.add_argument("--start", type=day, required=True, help="first day, YYYY-MM-DD (UTC)")
    run.add_argument("--end", type=day, required=True, help="last day, YYYY-MM-DD (UTC), inclusive")
    run.set_defaults(handler=_run)

    sandbox = add_command(commands, "sandbox", "the local stand-ins for Stripe", "stripe-close sandbox serve --port 12111")
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", required=True)
    serve = add_command(sandbox_commands, "serve", "serve a simulated merchant's Stripe API on 127.0.0.1",
                        "stripe-close sandbox serve --port 0 --days 31")
    _world_arguments(serve)
    serve.add_argument("--port", type=int, default=12111, help="the port to listen on; 0 picks a free port (default 12111)")
    serve.add_argument("--api-key", default=SANDBOX_API_KEY, help="the bearer key the server accepts")
    serve.add_argument("--source-objects", choices=("ahead", "on-demand"), default="ahead",
                       help="when the sales detail behind charges, invoices and the rest is built: before the address is printed "
                            "(default), or by the first request for them, so that clients that read none (benchmarks of millions "
                            "of transactions) never pay its memory, about 1.2 GB per 100,000 transactions")
    serve.set_defaults(handler=_serve)

    ui = add_command(commands, "ui", "the Dagster UI on the embedded instance, wired to a sandbox Stripe API", "stripe-close ui --port 3000")
    ui.add_argument("--port", type=int, default=3000, help="the UI's port (default 3000)")
    ui.add_argument("--host", default="127.0.0.1", help="the address the UI listens on (default 127.0.0.1)")
    ui.add_argument("--days", type=at_least(MIN_DAYS), default=31, help=f"simulated days, ending yesterday (at least {MIN_DAYS})")
    ui.add_argument("--transactions-per-day", type=at_least(1), default=40, help="simulated transactions a day (default 40)")
    ui.add_argument("--downloads-port", type=int, default=3001,
                    help="the port the exports folder is served on, read-only, for the UI's download links; 0 picks a free port (default 3001)")
    ui.add_argument("--no-backfill", action="store_true", help="start the UI on the warehouse and instance as they are, without closing the sandbox's months first")
    ui.set_defaults(handler=_ui)

    bench = add_command(commands, "bench", "time the whole chain on a large sandbox world", "stripe-close bench --transactions 100000",
                        description="Time ingestion, the dbt build and the exports on a sandbox world of N transactions; "
                        "`bench ingest|close|continuous|match|parse` time one part; `bench anomalies` measures the anomaly watch. Prints figures per stage, a JSON object last.")
    bench.add_argument("--transactions", type=at_least(1), default=1_000_000, help="balance transactions to simulate (default 1,000,000)")
    bench.add_argument("--days", type=at_least(MIN_DAYS), default=30, help=f"simulated days (at least {MIN_DAYS}, default 30)")
    bench.add_argument("--seed", type=int, default=7, help="the simulation's seed (default 7)")
    bench.add_argument("--workdir", type=Path, default=Path(".close/bench"), help="where the benchmark's warehouse and files go")
    bench.set_defaults(handler=_bench)
    # `bench` alone times the whole chain; `bench ingest|close|continuous|match|parse` time one part; `bench anomalies` measures the anomaly watch.
    bench_targets = bench.add_subparsers(dest="bench_target", metavar="{ingest,close,continuous,match,parse,anomalies}")
    anomalies = add_command(
        bench_targets, "anomalies", "recall of the anomaly watch on a 180-day world with injected anomalies, its quiet on the clean twin, its cost at 1M transactions a day",
        "stripe-close bench anomalies",
    )
    anomalies.add_argument("--compare-stl", action="store_true",
                           help="also measure STL (statsmodels, not a dependency: install it first) on the same worlds")
    anomalies.set_defaults(handler=_bench_anomalies)

    chaos = add_command(
        commands, "chaos", "kill a sandbox close with SIGKILL at random points, resume it with `stripe-close run`, compare the books",
        "stripe-close chaos --points 12",
        description="Fault injection: an uninterrupted close of a sandbox world, then one close per point killed with SIGKILL "
        "at a random pass of a failpoint (ledger/failpoints.py) and resumed; prints each point, then a JSON summary.",
    )
    chaos.add_argument("--points", type=at_least(1), default=12, help="how many faults to inject (default 12)")
    chaos.add_argument("--days", type=at_least(MIN_DAYS), default=10, help=f"simulated days (at least {MIN_DAYS})")
    chaos.add_argument("--transactions-per-day", type=at_least(1), default=12, help="simulated transactions a day (default 12)")
    chaos.add_argument("--seed", type=int, default=1, help="picks the passes at which each fault strikes")
    chaos.add_argument("--only", default="", help="comma-separated failpoint names to use (default: all)")
    chaos.add_argument("--workdir", type=Path, default=Path(".close/chaos"), help="where the closes' warehouses go")
    chaos.set_defaults(handler=_chaos)

    cli_bank.register(commands, bench_targets)
    cli_close.register(commands, bench_targets)
    cli_ingest.register(commands, bench_targets)
    cli_export.register(commands)
    cli_package.register(commands)
    cli_backfill.register(commands)
    return parser


def _world_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=7, help="the simulation's seed: the same seed, the same merchant (default 7)")
    parser.add_argument("--start", type=day, default=date(2026, 10, 1), help="first simulated day, YYYY-MM-DD (default 2026-10-01)")
    parser.add_argument("--days", type=at_least(MIN_DAYS), default=31, help=f"simulated days (at least {MIN_DAYS}, default 31)")
    parser.add_argument("--transactions-per-day", type=at_least(1), default=40, help="simulated transactions a day (default 40)")
    parser.add_argument("--currencies", type=_currencies, default=None,
                        help="settlement currencies, comma-separated, with usd (default usd,eur,jpy; also gbp, kwd)")


def _currencies(text: str) -> tuple[str, ...]:
    from sandbox.merchant import CHARGE_RANGE

    currencies = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    unknown = sorted(set(currencies) - set(CHARGE_RANGE))
    if unknown or "usd" not in currencies:
        raise argparse.ArgumentTypeError(f"{text!r}: the sandbox simulates {', '.join(sorted(CHARGE_RANGE))}, and needs usd among them")
    return currencies


def _world_spec(args: argparse.Namespace):
    from sandbox.merchant import WorldSpec

    spec = WorldSpec(seed=args.seed, start=args.start, days=args.days, transactions_per_day=args.transactions_per_day)
    return dataclasses.replace(spec, currencies=args.currencies) if args.currencies else spec


def _demo(args: argparse.Namespace) -> int:
    from sandbox.merchant import simulate
    from sandbox.outputs import write_sandbox_files
    from sandbox.stripe_api import SandboxStripeServer

    spec = _world_spec(args)
    base = CloseSettings.from_env()
    print(f"Simulating {spec.merchant_name}: {spec.days} days from {spec.start}, ~{spec.transactions_per_day} transactions a day, seed {spec.seed}")
    world = simulate(spec)
    files = write_sandbox_files(world, base.warehouse.parent / "sandbox")
    # A demo starts from an empty warehouse so that a different seed never mixes with the last one.
    base.warehouse.unlink(missing_ok=True)
    with SandboxStripeServer(world, SANDBOX_API_KEY) as server, cli_ingest.demo_source(args.source, world) as source:
        settings = dataclasses.replace(
            base, source=source, stripe_api_key=SANDBOX_API_KEY, stripe_api_base=server.url, bank_inbox=str(files.bai2.parent)
        )
        print(f"Sandbox Stripe API at {server.url}; warehouse {settings.warehouse}")
        result = _close_window(settings, spec.start, spec.start + timedelta(days=spec.days - 1))
    if result is None:
        return 1
    _print_result(result, progress.files_written())
    differences = _differences_from_truth(result, files.truth)
    print(f"Bank statements matched: {files.bai2}, {files.camt053}")
    if differences:
        print("The ledger DIFFERS from the simulator's ground truth:")
        for line in differences:
            print(f"  {line}")
        return 1
    print("The ledger equals the simulator's ground truth, per account and currency, to the minor unit.")
    return 0


def _run(args: argparse.Namespace) -> int:
    require_ordered(args.start, args.end)
    settings = CloseSettings.from_env()
    require_stripe_api(settings)
    require_bank_inbox(settings.bank_inbox, "CLOSE_BANK_INBOX")
    result = _close_window(settings, args.start, args.end)
    if result is None:
        return 1
    _print_result(result, progress.files_written())
    return 0


def _close_window(settings: CloseSettings, start: date, end: date):
    """The close's result, or None once a failed step has been named on stderr (one line)."""
    from orchestration.close_run import CloseFailed, run_close
    from orchestration.instance import persistent_instance

    try:
        with run_log.captured():
            return run_close(settings, start, end, persistent_instance())
    except CloseFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def _serve(args: argparse.Namespace) -> int:
    from sandbox.merchant import simulate
    from sandbox.stripe_api import SandboxStripeServer

    server = SandboxStripeServer(simulate(_world_spec(args)), args.api_key, port=args.port)
    if args.source_objects == "ahead":
        # Built on the first request, a large world's sales detail (minutes at 300,000 transactions)
        # would outlast every client's timeout.
        server.build_sources()
    server.start()
    # The first line is the address, for scripts that start the server and read where it listens.
    print(server.url, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()
    return 0


def _ui(args: argparse.Namespace) -> int:
    from orchestration.download_server import serve_downloads
    from orchestration.downloads import DOWNLOAD_BASE_VARIABLE
    from orchestration.instance import dagster_home
    from ledger.stop_signals import raising_on_stop_signals
    from orchestration.ui_session import Stopped, child, wait_until_serving
    from sandbox.merchant import WorldSpec, simulate
    from sandbox.stripe_api import SandboxStripeServer

    # The world ends yesterday and a first run backfills all of it, so the balance proofs hold.
    spec = WorldSpec(start=date.today() - timedelta(days=args.days), days=args.days, transactions_per_day=args.transactions_per_day)
    settings = CloseSettings.from_env()
    ui_url = f"http://{args.host}:{args.port}"
    try:
        with raising_on_stop_signals(Stopped), SandboxStripeServer(simulate(spec), SANDBOX_API_KEY) as server, \
                serve_downloads(settings.export_dir, args.host, args.downloads_port) as downloads_url:
            environment = {
                **os.environ,
                **dataclasses.replace(settings, source="sandbox", stripe_api_base=server.url).process_environment(),
                "STRIPE_API_KEY": SANDBOX_API_KEY,
                "CLOSE_INGEST_FIRST_RUN_DAYS": str(args.days + 1),
                "DAGSTER_HOME": str(dagster_home()),
                "CLOSE_SCHEDULES_RUNNING": "1",
                DOWNLOAD_BASE_VARIABLE: os.environ.get(DOWNLOAD_BASE_VARIABLE) or downloads_url,
            }
            print(f"Sandbox Stripe API at {server.url}; exports served for download at {environment[DOWNLOAD_BASE_VARIABLE]}", flush=True)
            if args.no_backfill:
                print(f"Not backfilling (--no-backfill): the UI shows {settings.warehouse} as it is", flush=True)
            else:
                _backfill_sandbox(spec, args.days, environment)
            print(f"Starting the Dagster webserver and daemon (dagster dev) at {ui_url}: it answers in about half a minute...", flush=True)
            command = [str(Path(sys.executable).with_name("dagster")), "dev", "-m", "orchestration.definitions", "-h", args.host, "-p", str(args.port)]
            with child(command, environment) as webserver:
                if wait_until_serving(f"{ui_url}/server_info", webserver, timeout=600):
                    print(f"Dagster UI ready at {ui_url} (period status: asset close_status). Ctrl-C stops everything.", flush=True)
                return webserver.wait()
    except Stopped as stopped:
        print(f"Stopped by {stopped}: the webserver, daemon, download server and sandbox are down.", file=sys.stderr, flush=True)
        return 128 + stopped.signum


def _backfill_sandbox(spec, days: int, environment: dict[str, str]) -> None:
    """The schedules close yesterday and today: first close the world's months, so the balance proofs have its history."""
    from orchestration.ui_session import child

    print(f"Backfilling {spec.start:%Y-%m} to {date.today():%Y-%m} ({days} simulated days): ingestion, the ledger with "
          "its proofs, the exports and close packages; a few minutes...", flush=True)
    backfill = [sys.executable, "-m", "orchestration.cli", "backfill", "--from", f"{spec.start:%Y-%m}", "--to", f"{date.today():%Y-%m}"]
    with child(backfill, environment) as process:
        if process.wait() != 0:
            print("The backfill failed (its output above); the UI starts anyway, to show what happened.", flush=True)


def _bench_anomalies(args: argparse.Namespace) -> int:
    from orchestration.bench_anomalies import run

    if args.compare_stl and importlib.util.find_spec("statsmodels") is None:
        print("stripe-close: --compare-stl needs statsmodels, which the project does not depend on: pip install statsmodels", file=sys.stderr)
        return 2
    run(compare_stl=args.compare_stl)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from orchestration.bench import run_chain_benchmark

    return run_chain_benchmark(args.transactions, args.days, args.seed, args.workdir)


def _chaos(args: argparse.Namespace) -> int:
    from orchestration.chaos import main as chaos

    only = tuple(name for name in args.only.split(",") if name)
    return chaos(args.points, args.days, args.transactions_per_day, args.seed, args.workdir.resolve(), only)


def _print_result(result, written: Sequence[str] = ()) -> None:
    """The close's summary on stdout, `written` the files it wrote; progress went to stderr, the logs to the log file."""
    print(f"Dagster run {result.run_id}")
    print(f"Ingested {counted(result.balance_transactions, 'balance transaction')} and {counted(result.payouts, 'payout')}")
    print(f"Booked {counted(result.journal_entries, 'journal entry', 'journal entries')} ({counted(result.journal_lines, 'line')})")
    print("Trial balance:")
    current = None
    for row in result.trial_balance:
        if row.currency != current:
            current = row.currency
            print(f"  {current.upper()}")
        print(f"    {row.account_code} {row.account_name:<30} {display_amount(row.balance_minor, row.currency):>18}")
    for currency in sorted({row.currency for row in result.trial_balance}):
        total = sum(row.balance_minor for row in result.trial_balance if row.currency == currency)
        print(f"  {currency.upper()} total (must be zero): {display_amount(total, currency)}")
    print(f"Bank: {bank_summary(result.payouts_matched, result.exceptions, result.bank_coverage)}")
    for line in files_summary(list(written)):
        print(line)
    if result.export_exceptions:
        print(f"Exported with exceptions: {counted(len(result.export_exceptions), 'entry', 'entries')} not exported "
              "(listed in each folder's <target>_export_exceptions file and manifest.json; docs/exports.md, currency policy):")
        for exception in result.export_exceptions:
            print(f"  {exception['target']} {exception['entity_id']} {exception['period']} {exception['external_id']} "
                  f"({exception['currency']} debit {exception['debit']}): {exception['reason']}")
    else:
        print("Exported: every journal entry")
    # Warnings block nothing, but say what was not proven or needs review (suspense, no balance snapshot).
    for check, description in result.warnings:
        print(f"Warning: {check}: {description}")


def _differences_from_truth(result, truth) -> list[str]:
    ledger = {(row.currency, row.account_code): row.balance_minor for row in result.trial_balance}
    expected = truth.gl_balances
    return [
        f"{currency.upper()} {account}: ledger {ledger.get((currency, account), 0)}, truth {expected.get((currency, account), 0)}"
        for currency, account in sorted(set(ledger) | set(expected))
        if ledger.get((currency, account), 0) != expected.get((currency, account), 0)
    ]


if __name__ == "__main__":
    sys.exit(main())
