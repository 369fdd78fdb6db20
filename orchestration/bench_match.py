"""`stripe-close bench match --payouts N`: payout-to-bank matching on N generated payouts, scored.

Generates N payouts and their noisy bank lines (sandbox.bank_bulk), lands them in a fresh
warehouse, runs the bank dbt models (the real `dbt build`, models only, as the close runs them)
and scores the matches against the generated truth: precision (share of matched pairs that are
true), recall (share of matchable payouts matched completely and only to their true lines), false
matches. Wall time and peak memory (process tree, dbt included) are for the dbt build, with the
project parsed beforehand as a deployment has it (Dagster's dbt integration reuses the saved
parse the same way; the parse is timed and printed apart); the last line printed is one JSON object.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import psutil

from ledger import warehouse
from ledger.dbt_build import target_dir
from ledger.dbt_project import DBT_PROJECT_DIR, dbt_executable
from orchestration.bench import measured
from sandbox.bank_bulk import BulkMatchingWorld, generate

BANK_MODELS = "+fct_payout_bank_matches +fct_payout_bank_returns +fct_reconciliation_exceptions"


@dataclass(frozen=True)
class MatchQuality:
    matched_pairs: int
    false_matches: int
    matchable_payouts: int
    matched_payouts: int
    returns_paired: int
    returns_expected: int
    exceptions: int

    @property
    def precision(self) -> float:
        return 1.0 if self.matched_pairs == 0 else (self.matched_pairs - self.false_matches) / self.matched_pairs

    @property
    def recall(self) -> float:
        return 1.0 if self.matchable_payouts == 0 else self.matched_payouts / self.matchable_payouts


def _dbt(warehouse_file: Path, *arguments: str) -> subprocess.CompletedProcess:
    """dbt on `warehouse_file`, with its artifacts (and saved parse) beside it."""
    command = [
        dbt_executable(), *arguments, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target_dir(warehouse_file)),
    ]
    environment = {**os.environ, "CLOSE_WAREHOUSE": str(Path(warehouse_file).resolve())}
    return subprocess.run(command, env=environment, capture_output=True, text=True, check=False)


def dbt_parse(warehouse_file: Path) -> subprocess.CompletedProcess:
    """Parse the project once for `warehouse_file`, as a deployment does: later builds parse only what changed."""
    return _dbt(warehouse_file, "parse", "--quiet")


def dbt_build_bank_models(warehouse_file: Path, *, with_tests: bool = True) -> subprocess.CompletedProcess:
    """`dbt build` of the bank models, the seeds and staging they need, and (optionally) their tests."""
    arguments = ["build", "--quiet", "--select", BANK_MODELS, "--indirect-selection", "cautious"]
    if not with_tests:
        arguments += ["--exclude", "resource_type:test"]
    return _dbt(warehouse_file, *arguments)


def land_bulk_world(world: BulkMatchingWorld, warehouse_file: Path) -> None:
    """The generated payouts, failures and bank lines in the raw tables, the truth in `bench`."""
    with warehouse.connect(warehouse_file) as connection:
        for table, rows in (
            ("stripe_payouts", world.payouts),
            ("stripe_balance_transactions", world.failure_transactions),
            ("bank_statement_lines", world.bank_lines),
            ("bank_statement_files", world.statement_file()),
        ):
            connection.register("incoming_rows", rows)
            connection.execute(f"insert into {warehouse.landed_table(table)} by name select * from incoming_rows")
            connection.unregister("incoming_rows")
        connection.execute("create schema if not exists bench")
        connection.register("truth_rows", world.truth)
        connection.execute("create or replace table bench.match_truth as select * from truth_rows")
        connection.unregister("truth_rows")


def score(warehouse_file: Path) -> MatchQuality:
    """Matches and return pairs of the bank models against bench.match_truth."""
    with duckdb.connect(str(warehouse_file), read_only=True) as connection:
        row = connection.execute(
            """
            with
            payouts as (select id as payout_id, status from raw.stripe_payouts),
            truth as (
                select match_truth.*
                from bench.match_truth as match_truth
                inner join payouts on match_truth.payout_id = payouts.payout_id
                where match_truth.amount_minor > 0 and payouts.status <> 'failed'
            ),
            matches as (select payout_id, bank_statement_line_id from main.fct_payout_bank_matches),
            judged as (
                select matches.*, truth.payout_id is not null as is_true
                from matches
                left join truth using (payout_id, bank_statement_line_id)
            ),
            per_payout as (
                select
                    truth.payout_id,
                    count(*) as true_lines,
                    count(judged.payout_id) as matched_true_lines,
                    (select count(*) from judged as wrong where wrong.payout_id = truth.payout_id and not wrong.is_true) as wrong_lines
                from truth
                left join judged using (payout_id, bank_statement_line_id)
                group by truth.payout_id
            ),
            returns_truth as (select * from bench.match_truth where amount_minor < 0)
            select
                (select count(*) from judged),
                (select count(*) from judged where not is_true),
                (select count(*) from per_payout),
                (select count(*) from per_payout where matched_true_lines = true_lines and wrong_lines = 0),
                (select count(*) from main.fct_payout_bank_returns as returns
                    inner join returns_truth
                        on returns.payout_id = returns_truth.payout_id
                        and returns.return_line_id = returns_truth.bank_statement_line_id),
                (select count(*) from returns_truth),
                (select count(*) from main.fct_reconciliation_exceptions)
            """
        ).fetchone()
    return MatchQuality(*row)


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def print_model_timings(warehouse_file: Path) -> None:
    """What dbt reports for the build: its own elapsed time and the slowest models."""
    results = json.loads((target_dir(warehouse_file) / "run_results.json").read_text())
    print(f"{'dbt elapsed':<12} {results['elapsed_time']:9.2f} s  (dbt's start-up is the rest of wall_s)")
    for result in sorted(results["results"], key=lambda r: -r["execution_time"])[:6]:
        print(f"{'':<12} {result['execution_time']:9.2f} s  {result['unique_id'].rsplit('.', 1)[-1]}")


def run_match_benchmark(payouts: int, seed: int, workdir: Path) -> int:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    warehouse_file = (workdir / "warehouse.duckdb").resolve()
    started = time.perf_counter()
    world = generate(payouts, seed)
    land_bulk_world(world, warehouse_file)
    print(f"{'generate':<12} {time.perf_counter() - started:9.2f} s  {payouts:,} payouts, {world.bank_lines.num_rows:,} bank lines", flush=True)
    started = time.perf_counter()
    parsed = dbt_parse(warehouse_file)
    if parsed.returncode != 0:
        print(parsed.stdout + parsed.stderr)
        return 1
    parse_s = time.perf_counter() - started
    print(f"{'dbt parse':<12} {parse_s:9.2f} s  (once per deployment; not in wall_s)", flush=True)
    figures: dict = {}
    cpu_before = _children_cpu_s()
    with measured(figures, "match", psutil.Process()):
        result = dbt_build_bank_models(warehouse_file, with_tests=False)
    cpu_s = _children_cpu_s() - cpu_before
    if result.returncode != 0:
        print(result.stdout + result.stderr)
        return 1
    print(f"{'dbt cpu':<12} {cpu_s:9.2f} s  (user + system of the dbt process: what contention does not inflate)")
    print_model_timings(warehouse_file)
    quality = score(warehouse_file)
    print(
        f"{'quality':<12} precision {quality.precision:.6f}  recall {quality.recall:.6f}  "
        f"false matches {quality.false_matches}  returns paired {quality.returns_paired}/{quality.returns_expected}",
        flush=True,
    )
    summary = {
        "payouts": payouts,
        "bank_lines": world.bank_lines.num_rows,
        "wall_s": round(figures["match"].wall_s, 2),
        "dbt_parse_s": round(parse_s, 2),
        "cpu_s": round(cpu_s, 2),
        "peak_rss_mb": round(figures["match"].peak_rss_mb, 1),
        "precision": round(quality.precision, 6),
        "recall": round(quality.recall, 6),
        **asdict(quality),
    }
    print(json.dumps(summary, sort_keys=True))
    return 0
