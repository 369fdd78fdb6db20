"""The package's status block: whether the books were proven, whether the period is locked, and where
the package comes from (provenance), read once into plain frozen values so rendering never reads a clock,
the warehouse or Dagster.

Proof results are handed in by the caller that knows where the close recorded them (the Dagster
instance, or for a lock the lock's own proof run: `orchestration/defs/export/guard.py`), so this
module stays free of Dagster. With none handed in, every proof reads "not evaluated" with the
reason, never "passed".

The ledger fingerprint is the one the export manifests carry for the same entity and period
(`exporters.journal.ledger_fingerprint` over `load_journal_lines`: the period's journal lines in
transaction and functional currency, revaluation lines included, ordered by entry, account and line,
each line's exported fields hashed in turn), so a package and the NetSuite, SAP and journal files of
a period can be seen to come from the same ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from importlib import metadata

import duckdb

from exporters.entities import Entity
from exporters.journal import ledger_fingerprint, load_journal_lines

DISTRIBUTION = "stripe-close"
PASSED, FAILED, WARNED, NOT_EVALUATED = "passed", "FAILED", "warning", "not evaluated"


@dataclass(frozen=True)
class ProofResult:
    """A blocking proof's latest result: `status` one of passed, FAILED, warning, not evaluated;
    `detail` says why when it is not a plain pass (a failure's description, a stale or missing evaluation)."""

    name: str
    description: str
    status: str
    evaluated_at: datetime | None
    detail: str


@dataclass(frozen=True)
class ProofResults:
    """What the close recorded (`results`), or why nothing could be read (`unavailable`)."""

    results: tuple[ProofResult, ...]
    unavailable: str | None = None

    @property
    def all_passed(self) -> bool:
        return self.unavailable is None and bool(self.results) and all(result.status in (PASSED, WARNED) for result in self.results)

    def timed(self, moment: datetime) -> ProofResults:
        """These results, each one without a time of its own (evaluated by a lock itself) at `moment`."""
        return replace(self, results=tuple(result if result.evaluated_at else replace(result, evaluated_at=moment) for result in self.results))


NOT_RECORDED = ProofResults((), "not evaluated: no record of the close's proofs was available to this package build")


@dataclass(frozen=True)
class PeriodEventRecord:
    action: str
    actor: str
    happened_at: datetime
    reason: str | None


@dataclass(frozen=True)
class LockStatus:
    locked: bool
    locked_by: str | None
    locked_at: datetime | None
    # Every lock and reopen of the period, oldest first: a reopen's reason stays on the record.
    events: tuple[PeriodEventRecord, ...]


@dataclass(frozen=True)
class Provenance:
    entity_name: str
    functional_currency: str
    dagster_run_id: str | None
    ledger_fingerprint: str
    journal_lines: int
    generated_at: datetime
    software_version: str


def software_version() -> str:
    return metadata.version(DISTRIBUTION)


def lock_status(connection: duckdb.DuckDBPyConnection, period: str) -> LockStatus:
    """The period's lock as `close.period_locks` and `close.period_events` hold it (none before the first build)."""
    (tables,) = connection.execute(
        "select count(*) from information_schema.tables where table_schema = 'close' and table_name in ('period_locks', 'period_events')"
    ).fetchone()
    if tables < 2:
        return LockStatus(False, None, None, ())
    lock = connection.execute("select locked_by, locked_at from close.period_locks where period = ?", [period]).fetchone()
    events = connection.execute(
        "select action, actor, happened_at, reason from close.period_events where period = ? order by happened_at, action", [period]
    ).fetchall()
    return LockStatus(lock is not None, lock[0] if lock else None, lock[1] if lock else None, tuple(PeriodEventRecord(*row) for row in events))


def provenance(
    connection: duckdb.DuckDBPyConnection, entity: Entity, period: str, dagster_run_id: str | None, generated_at: datetime,
) -> Provenance:
    lines = load_journal_lines(connection, entity.entity_id, period)
    return Provenance(
        entity.entity_name, entity.functional_currency.lower(), dagster_run_id, ledger_fingerprint(lines), len(lines), generated_at, software_version(),
    )
