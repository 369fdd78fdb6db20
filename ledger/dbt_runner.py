"""dbt in this process, through dbt's programmatic `dbtRunner`, with the parsed project kept.

A fresh `dbt` subprocess spends seconds starting Python, importing dbt and parsing the project
before it runs a single model; a continuous close that builds every hour pays that each time. Here
dbt is imported once, and the project is parsed once per process and set of settings (of the
warehouse's path, only its file name): the parsed manifest is handed to the next build, which then
only compiles and runs.

A new process (every `stripe-close` command, every scheduled run) finds the parse of the process
before it in the target folder, pickled with what it depends on: project files, settings and dbt's
version. Loading it takes a hundredth of a second; dbt's own partial parse, which re-reads its
msgpack and rebuilds the manifest, takes over a second. The pickle is the project's own file in its
own target folder, written by this module; anything that does not match is parsed afresh.

dbt reads its settings (CLOSE_WAREHOUSE, CLOSE_JOURNAL_GRANULARITY, ...) from the environment, so
each invocation sees the caller's settings in `os.environ` for its duration (the standard
library's `mock.patch.dict` sets and restores them), under one lock: dbt does not support
concurrent invocations in one process.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import threading
from itertools import chain
from collections.abc import Mapping
from pathlib import Path
from unittest import mock

from ledger import progress

# Two cores: a third thread keeps DuckDB busy while dbt's Python prepares the next node.
DBT_THREADS = 3
# The project's own folders: a change to any file in them is a new project to parse.
PROJECT_FOLDERS = ("models", "seeds", "macros", "tests")
# dbt's own loggers are off: the debug file wrote every event of every build (megabytes, shared by
# all warehouses), and even a --quiet console formats and scrubs every event before dropping it;
# together about a second per build. The callback below keeps what a run reports (info, warnings,
# errors) and callers print or raise it. dbt's JSON artifacts are off too: run_results.json is
# written here instead (`_write_run_results`), without the megabyte of manifest.json nothing reads.
QUIET = ["--quiet", "--no-use-colors", "--no-send-anonymous-usage-stats", "--log-level", "none", "--log-level-file", "none", "--no-write-json"]
SAVED_PARSE = "stripe_close_manifest.pickle"
# Read by the models as they compile (macros/close_window.sql), never as the project parses: a new
# close window needs no new parse.
COMPILE_TIME_SETTINGS = ("CLOSE_WINDOW_START", "CLOSE_WINDOW_END")
# The warehouse file's path, read by the profile as dbt connects. Of it a parse keeps only the file's
# name (dbt-duckdb's database, in every relation name): one parse serves every warehouse of that
# name, where each new one (each test's, each bench's) cost a parse of 5 s of CPU, 10 s in a new process.
WAREHOUSE_SETTING = "CLOSE_WAREHOUSE"

# dbt's own level names; its events go to this logger, which writes nowhere unless a command gives it a handler.
LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
_log = logging.getLogger("stripe_close.dbt")
_log.addHandler(logging.NullHandler())

_lock = threading.Lock()
_manifests: dict[tuple, object] = {}


def project_files(project_dir: Path) -> list[Path]:
    """Every file of the dbt project a parse reads."""
    files = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    return files + [path for folder in PROJECT_FOLDERS for path in sorted((project_dir / folder).rglob("*")) if path.is_file()]


def _project_state(project_dir: Path) -> tuple:
    """Every project file with its modification time: what a parse depends on besides settings."""
    return tuple((str(path), path.stat().st_mtime_ns) for path in project_files(project_dir))


def _settings_key() -> tuple:
    return tuple(sorted(
        (name, Path(value).stem if name == WAREHOUSE_SETTING else value)
        for name, value in os.environ.items() if name.startswith(("CLOSE_", "DBT_")) and name not in COMPILE_TIME_SETTINGS
    ))


def _log_collector(lines: list[str]):
    """dbt's event callback: keeps what a run reports in `lines`, writes every event to the `stripe_close.dbt`
    logger (the command's log file), and counts the nodes as they finish (ledger.progress)."""
    from dbt_common.events.base_types import EventLevel

    built: list[progress.Step] = []

    def collect(event) -> None:
        if event.info.name == "ConcurrencyLine":
            built.append(progress.step("dbt", "node", event.data.node_count, "dbt build"))
        elif event.info.name == "NodeFinished" and built:
            built[-1].advance()
        if not event.info.msg:
            return
        level = LOG_LEVELS.get(event.info.level, logging.DEBUG)
        if _log.isEnabledFor(level):
            _log.log(level, event.info.msg)
        if event.info.level in (EventLevel.INFO, EventLevel.WARN, EventLevel.ERROR):
            lines.append(event.info.msg)

    return collect


def run_dbt(arguments: list[str], settings: Mapping[str, str], project_dir: Path):
    """Invoke dbt with `arguments` under `settings`; returns (dbtRunnerResult, the log as text).

    The parse is cached per project state and settings; a dbt var in `arguments` does not need a
    new parse, dbt applies vars when it compiles.
    """
    from dbt.cli.main import dbtRunner

    lines: list[str] = []
    with _lock, mock.patch.dict(os.environ, settings):
        manifest, failed_parse = _manifest(Path(project_dir), arguments, lines)
        if failed_parse is not None:
            return failed_parse, "\n".join(lines)
        try:
            result = dbtRunner(manifest=manifest, callbacks=[_log_collector(lines)]).invoke([*QUIET, *arguments])
        finally:
            _release_duckdb()
        _write_run_results(result, _target_path(arguments, Path(project_dir)))
    return result, "\n".join(lines)


def _write_run_results(result, target_path: Path) -> None:
    """dbt's run_results.json of a run (what each node did, its status, timing and compiled SQL)."""
    if hasattr(result.result, "write"):
        target_path.mkdir(parents=True, exist_ok=True)
        result.result.write(str(target_path / "run_results.json"))


def parse_project(arguments: list[str], settings: Mapping[str, str], project_dir: Path):
    """The project parsed for `run_dbt` calls with the same settings (what a long-lived process pays once)."""
    lines: list[str] = []
    with _lock, mock.patch.dict(os.environ, settings):
        manifest, failed_parse = _manifest(Path(project_dir), arguments, lines)
    if failed_parse is not None:
        raise RuntimeError("dbt could not parse the project:\n" + "\n".join(lines))
    return manifest


def _manifest(project_dir: Path, arguments: list[str], lines: list[str]):
    """(the parsed manifest, None), or (None, the failed parse's result); call with the settings applied."""
    from dbt.cli.main import dbtRunner
    from dbt.version import __version__ as dbt_version

    project_dir = project_dir.resolve()
    key = (str(project_dir), _project_state(project_dir), _settings_key(), dbt_version)
    saved = _target_path(arguments, project_dir) / SAVED_PARSE
    if key not in _manifests:
        location = _option_values(arguments, ("--project-dir", "--profiles-dir", "--target-path"))
        manifest = _saved_parse(saved, key)
        if manifest is None:
            parsed = dbtRunner(callbacks=[_log_collector(lines)]).invoke([*QUIET, "parse", *chain.from_iterable(location.items())])
            if not parsed.success:
                return None, parsed
            manifest = parsed.result
            _save_parse(saved, key, manifest)
        _manifests[key] = manifest
    elif not saved.exists():
        # Another warehouse of the same name: the next process to build it finds the parse beside it (0.04 s to write).
        _save_parse(saved, key, _manifests[key])
    return _manifests[key], None


def _saved_parse(path: Path, key: tuple):
    from dbt.contracts.graph.manifest import Manifest

    try:
        with path.open("rb") as file:
            saved_key, contents = pickle.load(file)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError):
        return None
    return Manifest(**contents) if saved_key == key else None


def _save_parse(path: Path, key: tuple, manifest) -> None:
    """The manifest's public fields, by name: dbt's own pickling (`Manifest.__reduce_ex__`) passes
    them by position and lags behind the fields of recent versions. The private ones are lookups and
    caches dbt rebuilds on first use. Written beside, then renamed: a reader never sees half a file."""
    contents = {field.name: getattr(manifest, field.name) for field in dataclasses.fields(manifest) if field.init and not field.name.startswith("_")}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    with partial.open("wb") as file:
        pickle.dump((key, contents), file, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(path)


def _target_path(arguments: list[str], project_dir: Path) -> Path:
    """Where dbt writes its artifacts for `arguments`: their --target-path, or the project's `target`."""
    return Path(_option_values(arguments, ("--target-path",)).get("--target-path", project_dir / "target"))


def _option_values(arguments: list[str], options: tuple[str, ...]) -> dict[str, str]:
    return {argument: arguments[position + 1] for position, argument in enumerate(arguments) if argument in options}


def _release_duckdb() -> None:
    """Close dbt-duckdb's process-wide database handle: the file must be free for the next reader."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    environment = DuckDBConnectionManager._ENV
    DuckDBConnectionManager.close_all_connections()
    if environment is not None:
        environment.close()
