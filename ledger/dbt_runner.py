"""dbt in this process, through dbt's programmatic `dbtRunner`, with the parsed project kept.

A fresh `dbt` subprocess spends seconds starting Python, importing dbt and parsing the project
before it runs a single model; a continuous close that builds every hour pays that each time. Here
dbt is imported once, and the project is parsed once per process and set of settings: the parsed
manifest is handed to the next build, which then only compiles and runs.

dbt reads its settings (CLOSE_WAREHOUSE, CLOSE_JOURNAL_GRANULARITY, ...) from the environment, so
each invocation sees the caller's settings in `os.environ` for its duration (the standard
library's `mock.patch.dict` sets and restores them), under one lock: dbt does not support
concurrent invocations in one process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from unittest import mock

# Two cores: a third thread keeps DuckDB busy while dbt's Python prepares the next node.
DBT_THREADS = 3
# The project's own folders: a change to any file in them is a new project to parse.
PROJECT_FOLDERS = ("models", "seeds", "macros", "tests")
QUIET = ["--quiet", "--no-use-colors", "--no-send-anonymous-usage-stats"]

_lock = threading.Lock()
_manifests: dict[tuple, object] = {}


def _project_state(project_dir: Path) -> tuple:
    """Every project file with its modification time: what a parse depends on besides settings."""
    files = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    files += [path for folder in PROJECT_FOLDERS for path in sorted((project_dir / folder).rglob("*")) if path.is_file()]
    return tuple((str(path), path.stat().st_mtime_ns) for path in files)


def _settings_key() -> tuple:
    return tuple(sorted((name, value) for name, value in os.environ.items() if name.startswith(("CLOSE_", "DBT_"))))


def _log_collector(lines: list[str]):
    from dbt_common.events.base_types import EventLevel

    def collect(event) -> None:
        if event.info.level in (EventLevel.INFO, EventLevel.WARN, EventLevel.ERROR) and event.info.msg:
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
    return result, "\n".join(lines)


def parse_project(arguments: list[str], settings: Mapping[str, str], project_dir: Path) -> None:
    """Parse the project for later `run_dbt` calls with the same settings (what a long-lived process pays once)."""
    lines: list[str] = []
    with _lock, mock.patch.dict(os.environ, settings):
        _, failed_parse = _manifest(Path(project_dir), arguments, lines)
    if failed_parse is not None:
        raise RuntimeError("dbt could not parse the project:\n" + "\n".join(lines))


def _manifest(project_dir: Path, arguments: list[str], lines: list[str]):
    """(the parsed manifest, None), or (None, the failed parse's result); call with the settings applied."""
    from dbt.cli.main import dbtRunner

    project_dir = project_dir.resolve()
    key = (str(project_dir), _project_state(project_dir), _settings_key())
    if key not in _manifests:
        parse_arguments = ["parse", *_option_values(arguments, ("--project-dir", "--profiles-dir", "--target-path"))]
        parsed = dbtRunner(callbacks=[_log_collector(lines)]).invoke([*QUIET, *parse_arguments])
        if not parsed.success:
            return None, parsed
        _manifests[key] = parsed.result
    return _manifests[key], None


def _option_values(arguments: list[str], options: tuple[str, ...]) -> list[str]:
    picked = []
    for position, argument in enumerate(arguments):
        if argument in options:
            picked += [argument, arguments[position + 1]]
    return picked


def _release_duckdb() -> None:
    """Close dbt-duckdb's process-wide database handle: the file must be free for the next reader."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    environment = DuckDBConnectionManager._ENV
    DuckDBConnectionManager.close_all_connections()
    if environment is not None:
        environment.close()
