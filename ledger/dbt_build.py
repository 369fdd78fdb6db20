"""Build the ledger with dbt, and when a proof fails, say which records break it.

dbt reports a failing test as a count; an accountant needs the records. After dbt has finished (and
released the DuckDB file), each failed test's compiled SQL, which dbt leaves in run_results.json,
is run again read-only to fetch its first rows: the transactions, payouts or entries at fault.
dbt runs in this process (ledger.dbt_runner), so the project is parsed once per process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from ledger import dbt_seeds, dbt_window_selection
from ledger.dbt_project import DBT_PROJECT_DIR
from ledger.dbt_runner import DBT_THREADS, parse_project, run_dbt
from ledger.engine import close_engine, spark_dir
from ledger.remembered_fingerprints import remembered_fingerprint
from ledger.spark_landing import write_raw_parquet

CULPRITS_SHOWN = 10


@dataclass(frozen=True)
class FailedNode:
    name: str
    status: str
    message: str
    culprits: tuple[dict, ...]

    def describe(self) -> str:
        lines = [f"{self.name}: {self.status}: {self.message}"]
        lines += [f"    {json.dumps(row, default=str, sort_keys=True)}" for row in self.culprits]
        return "\n".join(lines)


class LedgerBuildFailed(RuntimeError):
    """dbt build failed; `failures` names each failed model or test and its culprit records."""

    def __init__(self, failures: Sequence[FailedNode], output: str) -> None:
        self.failures = tuple(failures)
        self.output = output
        summary = "\n".join(f.describe() for f in failures) or output[-2_000:]
        super().__init__(f"the ledger build failed:\n{summary}")


def failed_nodes(
    run_results: Mapping, warehouse: Path, statuses: tuple[str, ...] = ("error", "fail"), read_culprits: bool = True,
) -> list[FailedNode]:
    """Failed models and tests of a run (or those of other `statuses`), each test with the first rows
    its SQL returns when `read_culprits` (the tables are in the DuckDB `warehouse`, not on Spark)."""
    failures = []
    for result in run_results.get("results", []):
        if result["status"] not in statuses:
            continue
        name = result["unique_id"].split(".", 2)[-1]
        culprits: tuple[dict, ...] = ()
        if read_culprits and result["unique_id"].startswith("test.") and result.get("compiled_code"):
            culprits = culprit_rows(warehouse, result["compiled_code"])
        failures.append(FailedNode(name, result["status"], (result.get("message") or "").strip(), culprits))
    return failures


def culprit_rows(warehouse: Path, sql: str, limit: int = CULPRITS_SHOWN) -> tuple[dict, ...]:
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        return culprits_read(connection, sql, limit)
    finally:
        connection.close()


def culprits_read(connection: duckdb.DuckDBPyConnection, sql: str, limit: int = CULPRITS_SHOWN) -> tuple[dict, ...]:
    """The first `limit` rows a test's compiled SQL returns, on an open connection."""
    cursor = connection.execute(f"select * from ({sql}) as culprits limit {limit}")
    columns = [column[0] for column in cursor.description]
    return tuple(dict(zip(columns, row)) for row in cursor.fetchall())


def build_warnings(warehouse: Path) -> list[FailedNode]:
    """The tests of severity warn that warned in the last build of `warehouse` (money in suspense, a
    proof not evaluated), each with its first rows: they block nothing, but a person should read them."""
    results_file = target_dir(warehouse) / "run_results.json"
    return failed_nodes(json.loads(results_file.read_text()), Path(warehouse), ("warn",)) if results_file.exists() else []


def target_dir(warehouse: Path) -> Path:
    """Where dbt writes its artifacts for `warehouse` (beside it, so concurrent builds never share one)."""
    return Path(warehouse).resolve().parent / "dbt_target"


@dataclass(frozen=True)
class CloseWindow:
    """The accounting dates a partition run rebuilds: `start` inclusive, `end` exclusive."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"close window end {self.end} is not after its start {self.start}")


def window_settings(window: CloseWindow | None) -> dict[str, str]:
    """The settings that give dbt the close window (macro close_window); empty without one, so a
    window left in the caller's environment never narrows a whole build."""
    if window is None:
        return {"CLOSE_WINDOW_START": "", "CLOSE_WINDOW_END": ""}
    return {"CLOSE_WINDOW_START": window.start.isoformat(), "CLOSE_WINDOW_END": window.end.isoformat()}


def _project_options(warehouse: Path, project_dir: Path) -> list[str]:
    return ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir), "--target-path", str(target_dir(warehouse))]


def _settings(warehouse: Path, environment: Mapping[str, str] | None) -> dict[str, str]:
    settings = {**(environment or {}), "CLOSE_WAREHOUSE": str(Path(warehouse).resolve())}
    # dbt's profile picks its target from the process environment with `settings` over it: the
    # engine is decided here, once, from the same, and handed to dbt explicitly.
    seen_by_dbt = {**os.environ, **settings}
    settings["CLOSE_ENGINE"] = close_engine(seen_by_dbt)
    if settings["CLOSE_ENGINE"] == "spark":
        settings["CLOSE_SPARK_DIR"] = str(spark_dir(warehouse, seen_by_dbt))
    return settings


def parse_ledger(warehouse: Path, environment: Mapping[str, str] | None = None, project_dir: Path = DBT_PROJECT_DIR):
    """Parse the dbt project for builds of `warehouse` in this process (ahead of the first build, or
    to plan one): returns the manifest and the settings dbt sees."""
    settings = _settings(warehouse, environment)
    return parse_project(_project_options(warehouse, project_dir), settings, project_dir), settings


def build_ledger(
    warehouse: Path,
    environment: Mapping[str, str] | None = None,
    project_dir: Path = DBT_PROJECT_DIR,
    window: CloseWindow | None = None,
    proofs: bool = True,
    select: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> str:
    """`dbt build` on `warehouse`, in this process; returns dbt's log, or raises LedgerBuildFailed naming culprits.

    `proofs=False` builds the models without their tests: for simulated worlds whose injected faults
    (a missing day, a drifting balance) break proofs on purpose and must not skip the marts after them.

    With a `window`, the incremental journal models rewrite only the rows dated inside it (and the
    adjusting rows); without one, they are rebuilt whole (--full-refresh). The seeds are loaded
    only when the configuration differs from what `warehouse` last loaded (ledger.dbt_seeds). After
    a complete build of the same project and settings, a windowed build runs only the nodes whose
    inputs changed since (ledger.dbt_window_selection).

    `select` (dbt selectors) builds those nodes alone, with the seeds: e.g. the models Spark
    builds so far (docs/operations.md, "Running on Spark"). `exclude` (dbt selectors) leaves nodes
    out of it: e.g. the generic column tests, where a test wants the singular proofs alone.
    """
    options, settings = _project_options(warehouse, project_dir), {**_settings(warehouse, environment), **window_settings(window)}
    manifest = parse_project(options, settings, project_dir)
    configuration = dbt_seeds.configuration_fingerprint(manifest)
    on_spark = settings["CLOSE_ENGINE"] == "spark"
    if on_spark:
        write_raw_parquet(warehouse, Path(settings["CLOSE_SPARK_DIR"]))
    # The record of the loaded configuration is kept in the DuckDB file: on Spark the seeds load every build.
    configuration_loaded = not on_spark and dbt_seeds.loaded_fingerprint(warehouse) == configuration
    command = ["build", *options, "--threads", str(DBT_THREADS), *([] if window else ["--full-refresh"])]
    # Whether this build leaves every node built and proven on what it read (ledger.dbt_window_selection).
    complete = not (on_spark or select or exclude or not proofs)
    plan = dbt_window_selection.plan(warehouse, manifest, settings, window is not None, configuration_loaded) if complete else None
    if select:
        # Tests whose every parent is selected: a proof that also reads an unselected model is left out.
        command += ["--select", *select, "resource_type:seed", "--indirect-selection", "cautious"]
    elif plan is not None and plan.changed is not None:
        command += dbt_window_selection.selection(manifest, plan.changed)
    elif configuration_loaded:
        command += dbt_seeds.selection_without_configuration(manifest)
    excluded = [*exclude, *([] if proofs else ["resource_type:test"])]
    command += ["--exclude", *excluded] if excluded else []
    output = _run_build(command, warehouse, settings, project_dir)
    if not configuration_loaded and not on_spark:
        dbt_seeds.record_loaded(warehouse, configuration)
    if plan is not None:
        dbt_window_selection.record(warehouse, plan.fingerprint, plan.reading)
    return output


def load_configuration(warehouse: Path, environment: Mapping[str, str] | None = None, project_dir: Path = DBT_PROJECT_DIR) -> None:
    """Load and test the accounting configuration (the seeds) alone, and record it as loaded."""
    options, settings = _project_options(warehouse, project_dir), _settings(warehouse, environment)
    configuration = recordable_configuration(warehouse, environment, project_dir)
    command = ["build", *options, "--select", "resource_type:seed", "--indirect-selection", "cautious", "--full-refresh"]
    _run_build(command, warehouse, settings, project_dir)
    if configuration is not None:
        dbt_seeds.record_loaded(warehouse, configuration)


def recordable_configuration(warehouse: Path, environment: Mapping[str, str] | None = None, project_dir: Path = DBT_PROJECT_DIR) -> str | None:
    """The fingerprint of the configuration in `project_dir` (ledger.dbt_seeds), or None on Spark,
    whose seeds load with every build (the record is kept in the DuckDB file). Parsed only for
    project files and settings no process has fingerprinted before (ledger.remembered_fingerprints)."""
    options, settings = _project_options(warehouse, project_dir), _settings(warehouse, environment)
    if settings["CLOSE_ENGINE"] != "duckdb":
        return None
    return remembered_fingerprint(
        project_dir, settings, lambda: dbt_seeds.configuration_fingerprint(parse_project(options, settings, project_dir)))


def _run_build(command: list[str], warehouse: Path, settings: Mapping[str, str], project_dir: Path) -> str:
    result, output = run_dbt(command, settings, project_dir)
    if not result.success:
        results_file = target_dir(warehouse) / "run_results.json"
        results = json.loads(results_file.read_text()) if results_file.exists() else {}
        if result.exception is not None:
            output += f"\n{type(result.exception).__name__}: {result.exception}"
        raise LedgerBuildFailed(failed_nodes(results, Path(warehouse), read_culprits=settings["CLOSE_ENGINE"] == "duckdb"), output)
    return output
