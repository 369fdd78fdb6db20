"""`stripe-close`: run the close, the demo, the sandbox and the benchmarks from a shell."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from ledger.config import CloseSettings, ConfigError
from ledger.money import format_major
from orchestration import cli_backfill, cli_bank, cli_close, cli_export, cli_ingest, cli_package

SANDBOX_API_KEY = "sk_test_sandbox_stripe_close"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stripe-close", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="close one simulated month against the sandbox Stripe API")
    _world_arguments(demo)
    demo.set_defaults(handler=_demo)

    run = commands.add_parser("run", help="close a date window against STRIPE_API_BASE / CLOSE_WAREHOUSE")
    run.add_argument("--start", type=date.fromisoformat, required=True, help="first day, YYYY-MM-DD (UTC)")
    run.add_argument("--end", type=date.fromisoformat, required=True, help="last day, YYYY-MM-DD (UTC), inclusive")
    run.set_defaults(handler=_run)

    sandbox = commands.add_parser("sandbox", help="the local stand-ins for Stripe")
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", required=True)
    serve = sandbox_commands.add_parser("serve", help="serve a simulated merchant's Stripe API on 127.0.0.1")
    _world_arguments(serve)
    serve.add_argument("--port", type=int, default=12111, help="0 picks a free port")
    serve.add_argument("--api-key", default=SANDBOX_API_KEY, help="the bearer key the server accepts")
    serve.set_defaults(handler=_serve)

    ui = commands.add_parser("ui", help="the Dagster UI on the embedded instance, wired to a sandbox Stripe API")
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--days", type=int, default=31, help="simulated days, ending yesterday")
    ui.add_argument("--transactions-per-day", type=int, default=40)
    ui.set_defaults(handler=_ui)

    bench = commands.add_parser("bench", help="time the whole chain on a large sandbox world")
    bench.add_argument("--transactions", type=int, default=1_000_000)
    bench.add_argument("--days", type=int, default=30)
    bench.add_argument("--seed", type=int, default=7)
    bench.add_argument("--workdir", type=Path, default=Path(".close/bench"))
    bench.set_defaults(handler=_bench)
    # `bench` alone times the whole chain; `bench ingest|close|match` time one part.
    bench_targets = bench.add_subparsers(dest="bench_target", metavar="{ingest,close,match}")

    cli_bank.register(commands, bench_targets)
    cli_close.register(commands, bench_targets)
    cli_ingest.register(commands, bench_targets)
    cli_export.register(commands)
    cli_package.register(commands)
    cli_backfill.register(commands)
    return parser


def _world_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 10, 1), help="first simulated day")
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--transactions-per-day", type=int, default=40)


def _world_spec(args: argparse.Namespace):
    from sandbox.merchant import WorldSpec

    return WorldSpec(seed=args.seed, start=args.start, days=args.days, transactions_per_day=args.transactions_per_day)


def _demo(args: argparse.Namespace) -> int:
    from orchestration.close_run import run_close
    from orchestration.instance import persistent_instance
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
        last_day = spec.start + timedelta(days=spec.days - 1)
        with contextlib.redirect_stdout(sys.stderr):
            result = run_close(settings, spec.start, last_day, persistent_instance())
    _print_result(result)
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
    from orchestration.close_run import CloseFailed, run_close
    from orchestration.instance import persistent_instance

    if args.end < args.start:
        print(f"--end {args.end} is before --start {args.start}", file=sys.stderr)
        return 2
    settings = CloseSettings.from_env()
    if not settings.stripe_api_key and settings.source != "data_pipeline":
        raise ConfigError("STRIPE_API_KEY is not set (a restricted, read-only key is enough)")
    try:
        with contextlib.redirect_stdout(sys.stderr):
            result = run_close(settings, args.start, args.end, persistent_instance())
    except CloseFailed as failed:
        print(str(failed), file=sys.stderr)
        return 1
    _print_result(result)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from sandbox.merchant import simulate
    from sandbox.stripe_api import SandboxStripeServer

    server = SandboxStripeServer(simulate(_world_spec(args)), args.api_key, port=args.port).start()
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
    from orchestration.instance import dagster_home
    from sandbox.merchant import WorldSpec, simulate
    from sandbox.stripe_api import SandboxStripeServer

    # The world ends yesterday and a first run backfills all of it, so the balance proofs hold.
    spec = WorldSpec(start=date.today() - timedelta(days=args.days), days=args.days, transactions_per_day=args.transactions_per_day)
    settings = CloseSettings.from_env()
    with SandboxStripeServer(simulate(spec), SANDBOX_API_KEY) as server:
        environment = {
            **os.environ,
            **dataclasses.replace(settings, source="sandbox", stripe_api_base=server.url).process_environment(),
            "STRIPE_API_KEY": SANDBOX_API_KEY,
            "CLOSE_INGEST_FIRST_RUN_DAYS": str(args.days + 1),
            "DAGSTER_HOME": str(dagster_home()),
            "CLOSE_SCHEDULES_RUNNING": "1",
        }
        # The schedules close yesterday and today: first close the world's months, so the balance proofs have its history.
        backfill = [sys.executable, "-m", "orchestration.cli", "backfill", "--from", f"{spec.start:%Y-%m}", "--to", f"{date.today():%Y-%m}"]
        subprocess.run(backfill, env=environment, check=False)
        print(f"Sandbox Stripe API at {server.url}; Dagster UI at http://{args.host}:{args.port}", flush=True)
        command = [str(Path(sys.executable).with_name("dagster")), "dev", "-m", "orchestration.definitions", "-h", args.host, "-p", str(args.port)]
        return subprocess.run(command, env=environment, check=False).returncode


def _bench(args: argparse.Namespace) -> int:
    from orchestration.bench import run_chain_benchmark

    return run_chain_benchmark(args.transactions, args.days, args.seed, args.workdir)


def _print_result(result) -> None:
    """The close's summary on stdout; progress (Dagster and dbt logs) went to stderr."""
    print(f"Dagster run {result.run_id}")
    print(f"Ingested {result.balance_transactions} balance transactions and {result.payouts} payouts")
    print(f"Booked {result.journal_entries} journal entries ({result.journal_lines} lines)")
    print("Trial balance:")
    current = None
    for row in result.trial_balance:
        if row.currency != current:
            current = row.currency
            print(f"  {current.upper()}")
        print(f"    {row.account_code} {row.account_name:<30} {format_major(row.balance_minor, row.currency):>18}")
    for currency in sorted({row.currency for row in result.trial_balance}):
        total = sum(row.balance_minor for row in result.trial_balance if row.currency == currency)
        print(f"  {currency.upper()} total (must be zero): {format_major(total, currency)}")
    print(f"Bank: {result.payouts_matched} payouts matched to the statement; open items: "
          + (", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in result.exceptions.items()) or "none"))
    for path in result.export_files:
        print(f"Export: {path}")


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
