"""`stripe-close chaos`: kill a close with SIGKILL at chosen points, resume it with a plain
`stripe-close run`, and compare its books with those of an uninterrupted close of the same world.

Each close is a real `stripe-close run` process against the sandbox Stripe API, a bank inbox and the
sandbox NetSuite and SAP servers (it pushes), in a folder of its own (warehouse, Dagster instance,
exports). A first, uninterrupted close records how often it passes each failpoint
(ledger/failpoints.py); each fault then picks a pass at random (seeded) and kills the close there.
After the kill, no process of the killed close may be left (its dbt child dies with it), and the
resume must not wait for the dead run (it says so after 30 s: that is counted as a hang).

The books compared: every raw table (without load timestamps), the journal, the trial balance, the
reconciliation marts, the period locks, every export file byte for byte (the manifests without the
Dagster run ids they cite, which differ from one run to the next by design), the close package's
HTML and workbook with the times and run ids they state masked (the package says which run made it,
when, and when each proof was evaluated, which differ by design; every figure is compared) and its
manifest without the files' sha256, stray files, and what NetSuite and SAP hold.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import duckdb
import openpyxl
import psutil

from exporters.close_package.package import PACKAGE_FOLDER
from ledger import failpoints
from sandbox.erp_sandboxes import ErpSandboxes, erp_sandboxes
from sandbox.merchant import World, WorldSpec, simulate
from sandbox.outputs import write_sandbox_files
from sandbox.stripe_api import SandboxStripeServer

API_KEY = "sk_test_stripe_close_chaos"
RUN_TIMEOUT_S = 900
WAIT_MESSAGES = ("waiting for the warehouse", "waiting for Dagster run")
# How many faults each failpoint gets in a sweep of `points`: the raw-data commits and dbt (ingest,
# bank, build, proofs) first, then the exports, the package and the pushes.
SWEEP_ORDER = ("warehouse.commit", "dbt.event", "export.write", "gx.suite", "push.netsuite", "package.html", "push.sap")
# Columns that record when a row was written, not what the books say (with every `*_at` column);
# `loaded_through`: the load time of the newest raw row the journal was last built from;
# `complete_build_sources.fingerprint`: the hash of the settings of the process that made the last
# complete build (ledger.dbt_window_selection), which names each close's own export and bank folders.
VOLATILE_COLUMNS = ("as_of", "loaded_through", "complete_build_sources.fingerprint")
# What a close package states about the run that made it: its id, when, and when each proof was evaluated.
STATED_TIMES_AND_RUNS = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
BOOK_MARTS = (
    "fct_journal_lines", "fct_journal_source_records", "rpt_trial_balance", "rpt_stripe_balance_rollforward",
    "fct_payout_bank_matches", "fct_reconciliation_exceptions",
)


@dataclass(frozen=True)
class FaultResult:
    failpoint: str
    killed: bool
    survivors: tuple[str, ...]
    resume_exit: int | None
    resume_s: float
    waited: bool
    differences: tuple[str, ...]
    resume_error: str = ""

    @property
    def hung(self) -> bool:
        return self.waited or self.resume_exit is None

    @property
    def differed(self) -> bool:
        return bool(self.differences) or bool(self.survivors) or self.resume_exit != 0


@dataclass
class ChaosReport:
    baseline_s: float
    passes: dict[str, int]
    faults: list[FaultResult] = field(default_factory=list)

    def summary(self) -> dict:
        killed = [fault for fault in self.faults if fault.killed]
        return {
            "points_tried": len(killed),
            "points_not_reached": len(self.faults) - len(killed),
            "differed": sum(fault.differed for fault in killed),
            "hangs": sum(fault.hung for fault in killed),
            "max_resume_s": round(max((fault.resume_s for fault in killed), default=0.0), 1),
            "baseline_s": round(self.baseline_s, 1),
            "failpoints": [fault.failpoint for fault in killed],
        }


def default_world(days: int = 10, transactions_per_day: int = 12, seed: int = 5) -> WorldSpec:
    return WorldSpec(seed=seed, days=days, transactions_per_day=transactions_per_day)


def run_chaos(spec: WorldSpec, points: int, workdir: Path, seed: int = 1, only: tuple[str, ...] = (), log=print) -> ChaosReport:
    """An uninterrupted close, then `points` closes killed at random passes and resumed."""
    shutil.rmtree(workdir, ignore_errors=True)
    world = simulate(spec)
    with SandboxStripeServer(world, API_KEY) as stripe:
        baseline_dir = workdir / "uninterrupted"
        with erp_sandboxes(baseline_dir / "erp") as erp:
            started = time.monotonic()
            trace = baseline_dir / "failpoints.trace"
            _close(world, stripe, erp, baseline_dir, {failpoints.TRACE_VARIABLE: str(trace)}, expect_success=True)
            baseline_s = time.monotonic() - started
            expected = books(baseline_dir, erp)
        passes = Counter(trace.read_text().split())
        report = ChaosReport(baseline_s, dict(passes))
        log(f"uninterrupted close: {baseline_s:.1f} s; failpoint passes: "
            + ", ".join(f"{name} {passes[name]}" for name in failpoints.POINTS))
        for index, failpoint in enumerate(choose_faults(passes, points, random.Random(seed), only), start=1):
            result = _fault(world, stripe, workdir / f"fault-{index:02d}", failpoint, expected)
            report.faults.append(result)
            log(_describe(index, result))
    return report


def choose_faults(passes: Counter[str], points: int, rng: random.Random, only: tuple[str, ...] = ()) -> list[str]:
    """`points` distinct `name:N` failpoints, taking the points the close passes in turn (a point
    passed once is used once, the others fill up), N at random; fewer only when every pass is used."""
    untried = {name: list(range(1, passes[name] + 1)) for name in SWEEP_ORDER if passes[name] and (not only or name in only)}
    if not untried:
        raise RuntimeError("the uninterrupted close passed none of the chosen failpoints")
    chosen: list[str] = []
    while len(chosen) < points and any(untried.values()):
        for name, passes_left in untried.items():
            if passes_left and len(chosen) < points:
                chosen.append(f"{name}:{passes_left.pop(rng.randrange(len(passes_left)))}")
    return chosen


def _fault(world: World, stripe: SandboxStripeServer, folder: Path, failpoint: str, expected: dict) -> FaultResult:
    with erp_sandboxes(folder / "erp") as erp:
        killed = _close(world, stripe, erp, folder, {failpoints.VARIABLE: failpoint}, expect_success=False)
        survivors = _survivors(folder)
        started = time.monotonic()
        resumed = _run(world, _environment(stripe, erp, folder, {}), folder)
        resume_s = time.monotonic() - started
        waited = resumed is not None and any(message in resumed.stderr for message in WAIT_MESSAGES)
        differences = tuple(_differences(expected, books(folder, erp))) if resumed is not None and resumed.returncode == 0 else ()
    error = resumed.stderr.strip().splitlines()[-1] if resumed is not None and resumed.returncode != 0 and resumed.stderr.strip() else ""
    return FaultResult(failpoint, killed, survivors, None if resumed is None else resumed.returncode, resume_s, waited, differences, error)


def _close(world: World, stripe: SandboxStripeServer, erp: ErpSandboxes, folder: Path, extra: dict[str, str], expect_success: bool) -> bool:
    """One close in `folder`; True when it was killed by SIGKILL."""
    folder.mkdir(parents=True, exist_ok=True)
    write_sandbox_files(world, folder / "sandbox")
    completed = _run(world, _environment(stripe, erp, folder, extra), folder)
    if completed is None:
        raise RuntimeError(f"the close in {folder} did not finish within {RUN_TIMEOUT_S} s")
    if expect_success and completed.returncode != 0:
        raise RuntimeError(f"the uninterrupted close failed (exit {completed.returncode}): {completed.stderr[-2000:]}")
    return completed.returncode == -signal.SIGKILL


def _environment(stripe: SandboxStripeServer, erp: ErpSandboxes, folder: Path, extra: dict[str, str]) -> dict[str, str]:
    inherited = {key: value for key, value in os.environ.items() if not key.startswith(("CLOSE_", "STRIPE_", "DAGSTER_", "NETSUITE_", "SAP_"))}
    return {
        **inherited, **erp.environment, **extra,
        "CLOSE_SOURCE": "sandbox", "STRIPE_API_BASE": stripe.url, "STRIPE_API_KEY": API_KEY,
        "CLOSE_WAREHOUSE": str(folder / ".close" / "warehouse.duckdb"), "DAGSTER_HOME": str(folder / ".close" / "dagster"),
        "CLOSE_EXPORT_DIR": str(folder / "exports"), "CLOSE_BANK_INBOX": str(folder / "sandbox" / "bank"),
    }


def _run(world: World, environment: dict[str, str], folder: Path) -> subprocess.CompletedProcess | None:
    """`stripe-close run` over the world's days, as a user runs it."""
    first, last = world.spec.start, world.spec.start + timedelta(days=world.spec.days - 1)
    command = [str(Path(sys.executable).with_name("stripe-close")), "run", "--start", first.isoformat(), "--end", last.isoformat()]
    try:
        return subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None


def _survivors(folder: Path) -> tuple[str, ...]:
    """Processes of the killed close still running (its children inherit CLOSE_WAREHOUSE)."""
    warehouse = str(folder / ".close" / "warehouse.duckdb")
    deadline = time.monotonic() + 5
    while True:
        found = []
        for process in psutil.process_iter(["pid", "cmdline"]):
            try:
                if process.environ().get("CLOSE_WAREHOUSE") == warehouse:
                    found.append(f"pid {process.pid}: {' '.join(process.info['cmdline'] or [])[:120]}")
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        if not found or time.monotonic() > deadline:
            return tuple(found)
        time.sleep(0.2)


def books(folder: Path, erp: ErpSandboxes) -> dict:
    """A fingerprint of everything a close leaves behind, per item."""
    fingerprint: dict[str, str] = {}
    connection = duckdb.connect(str(folder / ".close" / "warehouse.duckdb"), read_only=True)
    try:
        tables = connection.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'close', 'ingest_state') or (table_schema = 'main' and table_name in ?) order by all",
            [list(BOOK_MARTS)],
        ).fetchall()
        for schema, table in tables:
            fingerprint[f"table {schema}.{table}"] = _table_digest(connection, schema, table, folder)
    finally:
        connection.close()
    exports = folder / "exports"
    for path in sorted(exports.rglob("*")) if exports.exists() else []:
        if path.is_file():
            fingerprint[f"file {path.relative_to(exports)}"] = _file_digest(path)
    for name, content in erp.books().items():
        fingerprint[f"erp {name}"] = hashlib.sha256(json.dumps(content, default=str, sort_keys=True).encode()).hexdigest()
    return fingerprint


def _table_digest(connection: duckdb.DuckDBPyConnection, schema: str, table: str, folder: Path) -> str:
    """Rows and a digest of the table's content; paths under the close's own folder (the bank
    files' `source_uri`) are read relative to it, since every close runs in a folder of its own."""
    columns = [
        name for (name,) in connection.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ? order by ordinal_position", [schema, table]
        ).fetchall()
        if name not in VOLATILE_COLUMNS and f"{table}.{name}" not in VOLATILE_COLUMNS and not name.endswith("_at")
    ]
    rows = connection.execute(f'select {", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)} from "{schema}"."{table}"').fetchall()
    digest = hashlib.sha256(repr(sorted(repr(row).replace(str(folder), "<close>") for row in rows)).encode()).hexdigest()
    return f"{len(rows)} rows {digest[:16]}"


def _file_digest(path: Path) -> str:
    package = path.parent.name == PACKAGE_FOLDER
    if path.name == "manifest.json":
        manifest = json.loads(path.read_text())
        for entry in manifest.get("files", []):
            entry.get("ledger_run", {}).pop("dagster_run_id", None)
            if package:
                entry.pop("sha256", None)
        return "manifest " + hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:16]
    if package and path.suffix == ".html":
        return "package " + hashlib.sha256(_masked(path.read_text()).encode()).hexdigest()[:16]
    if package and path.suffix == ".xlsx":
        workbook = openpyxl.load_workbook(path, read_only=True)
        cells = [_masked(str(value)) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for value in row]
        workbook.close()
        return "package " + hashlib.sha256(repr(cells).encode()).hexdigest()[:16]
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _masked(text: str) -> str:
    return STATED_TIMES_AND_RUNS.sub("<masked>", text)


def _differences(expected: dict, actual: dict) -> Iterator[str]:
    for key in sorted(set(expected) | set(actual)):
        if expected.get(key) != actual.get(key):
            yield f"{key}: uninterrupted {expected.get(key, 'absent')}, resumed {actual.get(key, 'absent')}"


def _describe(index: int, result: FaultResult) -> str:
    if not result.killed:
        return f"{index:2d} {result.failpoint:<22} not reached (the close finished)"
    verdict = "same books" if not result.differed else "DIFFERENT"
    line = f"{index:2d} {result.failpoint:<22} killed; resumed in {result.resume_s:5.1f} s (exit {result.resume_exit}); {verdict}"
    if result.waited:
        line += "; the resume WAITED for the dead run"
    details = [*(f"survivor {item}" for item in result.survivors), *result.differences, *filter(None, [result.resume_error[:300]])]
    return line + "".join(f"\n     {detail}" for detail in details[:12])


def main(points: int, days: int, transactions_per_day: int, seed: int, workdir: Path, only: tuple[str, ...]) -> int:
    report = run_chaos(default_world(days, transactions_per_day), points, workdir, seed, only)
    summary = report.summary()
    print(f"{summary['points_tried']} points tried ({summary['points_not_reached']} not reached), "
          f"{summary['differed']} differed, {summary['hangs']} hung; longest resume {summary['max_resume_s']} s")
    print(json.dumps(summary))
    return 1 if summary["differed"] or summary["hangs"] else 0

