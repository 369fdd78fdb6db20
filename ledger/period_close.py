"""Period close: lock a month so that its journal never changes, and reopen it only on the record.

Locking copies the period's journal lines and their drill-down, its functional-currency journal and
its period-end revaluation lines, as the ledger was last built, into
the `close` schema (tables created by the dbt macro `create_close_tables`). From then on the marts
serve that period from the frozen copy, and whatever changes later for it (a late transaction, a
payout that fails after it was paid) posts to the first open period as an adjusting entry that
cites the original entry and date. Reopening deletes the frozen copy, needs a reason, and is
recorded with who and when in `close.period_events`; the next build then recomputes the period.

A lock can freeze more in the same transaction (`freeze_packages`): the close package's figures of
every entity (`exporters.close_package.frozen`), into `close.locked_close_packages`, so a crash
leaves either the lock with its packages or neither. Reopening deletes those too.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from ledger import failpoints
from ledger.warehouse import transaction

PERIOD_FORMAT = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
SOURCE_MARTS = {
    "locked_journal_lines": "main.fct_journal_lines",
    "locked_journal_line_sources": "main.fct_journal_line_sources",
    "locked_journal_lines_translated": "main.fct_journal_lines_translated",
    "locked_fx_revaluation_lines": "main.fct_fx_revaluation_lines",
}
LOCKED_TABLES = tuple(SOURCE_MARTS)
# Each locked period's close package figures per entity; the ledger never reads them.
FROZEN_PACKAGES_TABLE = "locked_close_packages"
# Freezes the close packages of (connection, period, locked_at) inside the lock's transaction; returns their entities.
PackageFreezer = Callable[[duckdb.DuckDBPyConnection, str, datetime], tuple[str, ...]]


class PeriodCloseError(ValueError):
    """A lock or reopen that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class PeriodLock:
    period: str
    locked_at: datetime
    locked_by: str
    journal_lines: int
    source_rows: int
    # The entities whose close package the lock froze; None where not told (the lock states).
    frozen_packages: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PeriodEvent:
    period: str
    action: str
    reason: str | None
    actor: str
    happened_at: datetime


def validate_period(period: str) -> str:
    if not PERIOD_FORMAT.match(period):
        raise PeriodCloseError(f"period {period!r} is not a month in the form YYYY-MM (e.g. 2026-10)")
    return period


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _connect(warehouse: Path) -> duckdb.DuckDBPyConnection:
    if not Path(warehouse).exists():
        raise PeriodCloseError(f"no warehouse at {warehouse}: run the close (stripe-close run) before locking periods")
    connection = duckdb.connect(str(warehouse))
    tables = {
        f"{schema}.{name}"
        for schema, name in connection.execute("select table_schema, table_name from information_schema.tables").fetchall()
    }
    missing = {"close.period_locks", f"close.{FROZEN_PACKAGES_TABLE}", "main.fct_journal_lines"} - tables
    if missing:
        connection.close()
        raise PeriodCloseError(
            f"the ledger in {warehouse} has not been built (missing {', '.join(sorted(missing))}): "
            "run the close (stripe-close run, or dbt build) first"
        )
    return connection


def lock_states(warehouse: Path) -> list[PeriodLock]:
    """The locks as they stand, with the size of each frozen journal; none before the first build."""
    if not Path(warehouse).exists():
        return []
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        built = connection.execute(
            "select count(*) from information_schema.tables where table_schema = 'close' and table_name = 'period_locks'"
        ).fetchone()[0]
        if not built:
            return []
        rows = connection.execute(
            """
            select locks.period, locks.locked_at, locks.locked_by,
                (select count(*) from close.locked_journal_lines where locked_period = locks.period),
                (select count(*) from close.locked_journal_line_sources where locked_period = locks.period)
            from close.period_locks as locks order by locks.period
            """
        ).fetchall()
    finally:
        connection.close()
    return [PeriodLock(*row) for row in rows]


def locked_periods(warehouse: Path) -> list[str]:
    connection = _connect(warehouse)
    try:
        return [period for (period,) in connection.execute("select period from close.period_locks order by period").fetchall()]
    finally:
        connection.close()


def period_events(warehouse: Path) -> list[PeriodEvent]:
    connection = _connect(warehouse)
    try:
        rows = connection.execute(
            "select period, action, reason, actor, happened_at from close.period_events order by happened_at, period"
        ).fetchall()
    finally:
        connection.close()
    return [PeriodEvent(*row) for row in rows]


def ensure_built_with_current_locks(connection: duckdb.DuckDBPyConnection) -> None:
    """The marts must reflect the current locks, or a lock would freeze lines computed without them."""
    frozen = {p for (p,) in connection.execute("select distinct locked_period from close.locked_journal_lines").fetchall()}
    served_frozen = {p for (p,) in connection.execute("select distinct period from main.fct_journal_lines where is_locked").fetchall()}
    if served_frozen != frozen:
        raise PeriodCloseError(
            "the ledger was built before the last lock or reopen: build it again (dbt build) and then lock"
        )


def lock_period(
    warehouse: Path, period: str, actor: str | None = None, allow_empty: bool = False, freeze_packages: PackageFreezer | None = None,
) -> PeriodLock:
    """Freeze `period`'s journal lines and drill-down as last built, and with `freeze_packages` its
    close packages; all or nothing.

    A period without journal lines is refused unless `allow_empty`: an empty month is far more
    often a window that was never ingested or built than a month without business, and a lock
    would turn that mistake into adjusting entries in the next open period."""
    validate_period(period)
    actor = actor or getpass.getuser()
    connection = _connect(warehouse)
    try:
        if connection.execute("select 1 from close.period_locks where period = ?", [period]).fetchone():
            raise PeriodCloseError(f"period {period} is already locked")
        ensure_built_with_current_locks(connection)
        if not allow_empty and not connection.execute("select 1 from main.fct_journal_lines where period = ? limit 1", [period]).fetchone():
            raise PeriodCloseError(
                f"period {period} has no journal lines: nothing was locked; "
                "if it is meant to stay empty, lock it with --allow-empty (Dagster: allow_empty: true)"
            )
        locked_at = _now()
        counts = {}
        with transaction(connection):
            # The lock first, so the packages' figures see the period as locked (who, when); then the
            # packages, while the marts still read as built: once the journal is frozen below, the
            # drill-down view would show the period's frozen rows beside its built ones.
            connection.execute("insert into close.period_locks values (?, ?, ?)", [period, locked_at, actor])
            connection.execute("insert into close.period_events values (?, 'lock', null, ?, ?)", [period, actor, locked_at])
            frozen_packages = freeze_packages(connection, period, locked_at) if freeze_packages else None
            failpoints.reached("period.lock")
            for table in LOCKED_TABLES:
                columns = [
                    name for (name,) in connection.execute(
                        "select column_name from information_schema.columns where table_schema = 'close' and table_name = ? "
                        "and column_name <> 'locked_period' order by ordinal_position", [table],
                    ).fetchall()
                ]
                column_list = ", ".join(columns)
                connection.execute(
                    f"insert into close.{table} (locked_period, {column_list}) "
                    f"select ?, {column_list} from {SOURCE_MARTS[table]} where period = ?",
                    [period, period],
                )
                counts[table] = connection.execute(f"select count(*) from close.{table} where locked_period = ?", [period]).fetchone()[0]
    finally:
        connection.close()
    return PeriodLock(period, locked_at, actor, counts["locked_journal_lines"], counts["locked_journal_line_sources"], frozen_packages)


def reopen_period(warehouse: Path, period: str, reason: str, actor: str | None = None) -> PeriodEvent:
    """Unlock `period` so the next build recomputes it (and its close packages); the reason and actor are recorded."""
    validate_period(period)
    if not reason or not reason.strip():
        raise PeriodCloseError(f"reopening {period} needs a reason (--reason), which is kept in the close history")
    actor = actor or getpass.getuser()
    connection = _connect(warehouse)
    try:
        if not connection.execute("select 1 from close.period_locks where period = ?", [period]).fetchone():
            raise PeriodCloseError(f"period {period} is not locked")
        later = [p for (p,) in connection.execute("select period from close.period_locks where period > ? order by period", [period]).fetchall()]
        if later:
            # A later locked period may hold adjusting entries for this one; reopening this one alone
            # would book those corrections twice.
            raise PeriodCloseError(f"period {period} cannot be reopened while later periods are locked: reopen {', '.join(reversed(later))} first")
        happened_at = _now()
        with transaction(connection):
            for table in (*LOCKED_TABLES, FROZEN_PACKAGES_TABLE):
                connection.execute(f"delete from close.{table} where locked_period = ?", [period])
            connection.execute("delete from close.period_locks where period = ?", [period])
            connection.execute("insert into close.period_events values (?, 'reopen', ?, ?, ?)", [period, reason.strip(), actor, happened_at])
    finally:
        connection.close()
    return PeriodEvent(period, "reopen", reason.strip(), actor, happened_at)
