"""Builds made once per test run and read by every pytest-xdist worker.

A build that is only files (a dbt-built DuckDB warehouse) need not tie its readers to one worker:
the first worker to ask for it builds it in a folder of the run, holding a lock, and every other
reader waits for that lock and reads the same files. The controller makes the folder before the
workers start and removes it at the end (tests/conftest.py); a run without xdist is its own
controller. Readers never write to a run-wide build: they copy it first.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

FOLDER_VARIABLE = "STRIPE_CLOSE_TEST_RUN_BUILDS"
# Written last: a folder without it is a build that failed or was killed half-way, built again.
COMPLETE_MARK = ".complete"


def open_run_folder(root: Path | None = None) -> Path:
    """The controller's part: a fresh folder for this run's builds (under `root`, else the system's
    temporary folder), named in the environment the workers inherit."""
    folder = Path(tempfile.mkdtemp(prefix="stripe-close-run-builds-", dir=root))
    os.environ[FOLDER_VARIABLE] = str(folder)
    return folder


def close_run_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    os.environ.pop(FOLDER_VARIABLE, None)


def built_once(name: str, make: Callable[[Path], None]) -> Path:
    """The folder `name` of this run, made by `make(folder)` in whichever process asks first."""
    if FOLDER_VARIABLE not in os.environ:
        raise RuntimeError(f"{FOLDER_VARIABLE} is not set: run-wide builds need tests/conftest.py's pytest_configure")
    folder = Path(os.environ[FOLDER_VARIABLE]) / name
    with (folder.parent / f"{name}.lock").open("w") as lock:
        # Blocks while another worker builds it; the lock dies with its holder.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / COMPLETE_MARK).exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            (folder / COMPLETE_MARK).touch()
    return folder
