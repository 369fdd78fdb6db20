"""Locked periods' close packages are write-once: frozen with the lock, rendered from that copy ever after.

At the lock (`lock_with_packages`, which `stripe-close close` and `period_close_job` call), every
entity's close package figures (`CloseData`: trial balance, roll-forward, reconciliation,
exceptions, everything the package shows) are read from the marts and stored as JSON
(`frozen_data.py`) in `close.locked_close_packages`, in the lock's own transaction: a crash leaves
the period locked with its packages, or neither. A package of a locked period is then rendered from
that copy and never from the marts, so its HTML and workbook stay byte for byte the ones of the
lock, whatever arrives later (those late facts post to the next open period, whose package lists
them as adjustments). Reopening deletes the copy with the lock.

A period locked before packages were frozen at lock (by an earlier version) has no copy: its first
package build says so in one line and freezes the figures it builds, as the ledger then stands
(the journal is the locked one; the roll-forward and bank reconciliation include whatever arrived
since the lock), and later builds render that copy. Refusing instead would leave reopening as the
only way to a package, and a reopening recomputes the locked journal itself. The same holds for an
entity that gained journal lines through a locked period after its lock (from an open earlier
period). Freezing then needs the ledger built since the last lock or reopen, as a lock does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from exporters.close_package.close_data import CloseData, CloseDataError, PackageContext, check_period, package_entities, read_close_data
from exporters.close_package.status import NOT_RECORDED, ProofResults
from exporters.close_package.frozen_data import FrozenDataError, decode, encode
from exporters.entities import EntityConfigError
from ledger import period_close
from ledger.period_close import FROZEN_PACKAGES_TABLE, PeriodCloseError, PeriodLock
from ledger.warehouse import transaction

_TABLE = f"close.{FROZEN_PACKAGES_TABLE}"


@dataclass(frozen=True)
class FrozenPackage:
    """Where a locked period's package comes from: its lock, and when its figures were frozen."""

    entity_id: str
    period: str
    locked_at: datetime
    locked_by: str
    frozen_at: datetime
    # False: locked before packages were frozen at lock; frozen at its first build after.
    frozen_at_lock: bool
    # This build froze it (and it was not frozen at the lock).
    frozen_now: bool

    def describe(self) -> str:
        """One line for the package build: the lock, and which figures the package shows."""
        lock = f"(by {self.locked_by} at {self.locked_at:%Y-%m-%d %H:%M:%S} UTC)"
        later = "later facts show as adjustments in the next open period"
        if self.frozen_now:
            return (f"{self.period} was locked {lock} before close packages were frozen at lock: {self.entity_id}'s package is frozen now, "
                    "as the ledger stands at this build (its journal is the locked one; the roll-forward and the bank reconciliation "
                    "include what arrived since the lock)")
        if self.frozen_at_lock:
            return f"{self.period} is locked {lock}: {self.entity_id}'s package is built from the figures frozen at the lock; {later}"
        return (f"{self.period} is locked {lock}: {self.entity_id}'s package is the copy frozen at its first build on "
                f"{self.frozen_at:%Y-%m-%d %H:%M:%S} UTC, after the lock; {later}")


def lock_with_packages(
    warehouse: Path, period: str, default_entity_id: str, actor: str | None = None, allow_empty: bool = False, *,
    proofs: ProofResults = NOT_RECORDED, dagster_run_id: str | None = None, reporting_timezone: str = "UTC",
) -> PeriodLock:
    """`period_close.lock_period`, freezing every entity's close package in the lock's transaction.
    `default_entity_id` (CLOSE_ENTITY_ID) is the entity whose package lists the unassigned bank lines;
    the frozen packages show `proofs` as the lock's own proof run left them, timed at the lock unless they
    carry a time of their own, its run, and the lock's time as generated-at."""

    def freeze(connection: duckdb.DuckDBPyConnection, locked_period: str, locked_at: datetime) -> tuple[str, ...]:
        if not connection.execute("select 1 from main.fct_journal_lines where period <= ? limit 1", [locked_period]).fetchone():
            return ()  # an empty period before the ledger's first (--allow-empty): there is no package to freeze
        try:
            at = locked_at.replace(microsecond=0)
            context = PackageContext(proofs.timed(at), dagster_run_id, at, reporting_timezone)
            figures = read_close_data(connection, locked_period, default_entity_id, None, context)
            _store(connection, figures, locked_at, at_lock=True)
        except (CloseDataError, EntityConfigError) as error:  # FrozenDataError included: figures that cannot be frozen exactly
            raise PeriodCloseError(f"its close packages cannot be frozen with it: {error}") from None
        return tuple(data.entity_id for data in figures)

    return period_close.lock_period(warehouse, period, actor, allow_empty, freeze)


def load_package_data(
    warehouse: Path, periods: list[str], default_entity_id: str, entity_id: str | None, context: PackageContext,
) -> list[tuple[CloseData, FrozenPackage | None]]:
    """Each period's figures per entity: a locked period's from its frozen copy (frozen now, when it
    has none), an open period's from the marts. All read before anything is written."""
    for period in periods:
        check_period(period)
    now = context.generated_at
    figures: list[tuple[CloseData, FrozenPackage | None]] = []
    to_freeze: list[CloseData] = []
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        locks = {period: (locked_at, locked_by) for period, locked_at, locked_by in connection.execute(
            "select period, locked_at, locked_by from close.period_locks").fetchall()}
        for period in periods:
            if period not in locks:
                figures += [(data, None) for data in read_close_data(connection, period, default_entity_id, entity_id, context)]
                continue
            locked_at, locked_by = locks[period]
            frozen = _frozen(connection, period)
            for entity in (entity.entity_id for entity in package_entities(connection, period, entity_id)):
                if entity in frozen:
                    frozen_at, at_lock, text = frozen[entity]
                    figures.append((_decode(text, entity, period), FrozenPackage(entity, period, locked_at, locked_by, frozen_at, at_lock, False)))
                    continue
                _ensure_freezable(connection, period, entity)
                [data] = read_close_data(connection, period, default_entity_id, entity, context)
                to_freeze.append(data)
                figures.append((data, FrozenPackage(entity, period, locked_at, locked_by, now, False, True)))
    finally:
        connection.close()
    if to_freeze:
        connection = duckdb.connect(str(warehouse))
        try:
            with transaction(connection):
                _store(connection, to_freeze, now, at_lock=False)
        finally:
            connection.close()
    return figures


def lock_proofs(connection: duckdb.DuckDBPyConnection, period: str) -> ProofResults | None:
    """The proofs the lock of `period` ran itself, as its packages froze them (one record for every
    entity: one lock, one proof run); None when the period is not locked or was locked before
    packages were frozen at lock (the instance's record is then all there is)."""
    if not _has_table(connection, _TABLE):
        return None
    row = connection.execute(
        f"""select packages.entity_id, packages.close_data from {_TABLE} as packages
            join close.period_locks as locks on locks.period = packages.locked_period
            where packages.locked_period = ? and packages.frozen_at_lock order by packages.entity_id limit 1""", [period]).fetchone()
    return None if row is None else _decode(row[1], row[0], period).proofs


def _store(connection: duckdb.DuckDBPyConnection, figures: list[CloseData], frozen_at: datetime, at_lock: bool) -> None:
    connection.executemany(
        f"insert into {_TABLE} (locked_period, entity_id, frozen_at_lock, frozen_at, close_data) values (?, ?, ?, ?, ?)",
        [[data.period, data.entity_id, at_lock, frozen_at, encode(data)] for data in figures],
    )


def _frozen(connection: duckdb.DuckDBPyConnection, period: str) -> dict[str, tuple[datetime, bool, str]]:
    if not _has_table(connection, _TABLE):
        return {}
    rows = connection.execute(f"select entity_id, frozen_at, frozen_at_lock, close_data from {_TABLE} where locked_period = ?", [period]).fetchall()
    return {entity: (frozen_at, at_lock, text) for entity, frozen_at, at_lock, text in rows}


def _decode(text: str, entity_id: str, period: str) -> CloseData:
    try:
        return decode(text)
    except FrozenDataError as error:
        raise CloseDataError(
            f"the close package of {entity_id} {period} frozen for its lock cannot be read by this version: {error}; "
            "build it with the version that locked the period, or reopen the period and lock it again"
        ) from None


def _ensure_freezable(connection: duckdb.DuckDBPyConnection, period: str, entity_id: str) -> None:
    """A package is frozen from the marts only once they serve the current locks, as a lock requires."""
    problem = None if _has_table(connection, _TABLE) else "the ledger was built by an earlier version: build it again (stripe-close run)"
    if problem is None:
        try:
            period_close.ensure_built_with_current_locks(connection)
        except PeriodCloseError as error:
            problem = str(error)
    if problem:
        raise CloseDataError(f"{period} is locked but {entity_id}'s close package was never frozen, and {problem}; then build the package again")


def _has_table(connection: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".")
    return bool(connection.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, name]).fetchone()[0])
