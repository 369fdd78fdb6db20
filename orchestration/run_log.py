"""Where a command's dbt and Dagster logs go: `<warehouse folder>/logs/<command>-<UTC time>.log`, or the
terminal with `--verbose`.

The user reads progress and a summary; the logs (every dbt event, Dagster's run log) are for when
something went wrong, so a failure's last line names the file. The file is opened at the first line
written to it: a command refused before it started work leaves none behind.

Dagster's in-process runs log through a console handler that writes to whatever `sys.stderr` is at
each line (coloredlogs), so their output is captured by pointing stdout and stderr at the file for
the run (`captured`); dbt's events reach the `stripe_close` logger (ledger/dbt_runner.py). What the
user must see meanwhile (waiting for another run's lock) goes through `tell`. Secrets never reach
either: the settings print no key, and dbt and Dagster are never given one to log.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

LOGGER = "stripe_close"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _FileOnFirstWrite:
    """A text stream that creates its file (and folder) at the first write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO | None = None

    @property
    def opened(self) -> bool:
        return self._file is not None

    def write(self, text: str) -> int:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        return self._file.write(text)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class _CurrentStderr:
    """`sys.stderr` as it is at each line: on a terminal, the live bars print what it gets above them."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@dataclass
class CommandLog:
    """The current command's log: `file` None means --verbose (everything on the terminal)."""

    user: TextIO
    file: _FileOnFirstWrite | None = None

    @property
    def written(self) -> Path | None:
        """The log file, once something was written to it."""
        return self.file.path if self.file is not None and self.file.opened else None


_current: CommandLog | None = None


def log_path(warehouse: Path, command: str, now: datetime) -> Path:
    """`.close/logs/run-20261207T061500Z.log` for the default warehouse `.close/warehouse.duckdb`."""
    return Path(warehouse).parent / "logs" / f"{command.replace(' ', '-')}-{now:%Y%m%dT%H%M%SZ}.log"


@contextlib.contextmanager
def command_log(warehouse: Path, command: str, verbose: bool, now: datetime | None = None) -> Iterator[CommandLog]:
    """For the command's duration: dbt's events (and anything logged under `stripe_close`) into the
    log file at DEBUG, or onto stderr when `verbose`."""
    global _current
    user = sys.stderr
    log = CommandLog(user) if verbose else CommandLog(user, _FileOnFirstWrite(log_path(warehouse, command, now or datetime.now(timezone.utc))))
    handler = logging.StreamHandler(_CurrentStderr() if verbose else log.file)
    handler.setFormatter(logging.Formatter(FORMAT))
    logger = logging.getLogger(LOGGER)
    previous_level, previous = logger.level, _current
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    _current = log
    try:
        yield log
    finally:
        _current = previous
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        if log.file is not None:
            log.file.close()


@contextlib.contextmanager
def captured() -> Iterator[None]:
    """Standard output and error into the command's log file (a Dagster run's log); with --verbose
    or outside a command, standard output to stderr, so the summary alone is on stdout."""
    target = _current.file if _current is not None and _current.file is not None else sys.stderr
    with contextlib.redirect_stdout(target), contextlib.redirect_stderr(target):
        yield


def tell(message: str) -> None:
    """A line the user must read even while the logs go to the file."""
    print(message, file=_current.user if _current is not None else sys.stderr, flush=True)


def dagster_level() -> str:
    """A Dagster run's console log level: every event into a log file, the INFO lines onto a terminal."""
    return "DEBUG" if _current is not None and _current.file is not None else "INFO"
