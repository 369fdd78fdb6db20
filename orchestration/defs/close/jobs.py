"""Period close in Dagster: a job that locks or reopens a month, recorded in the `close` schema.

A job rather than an asset: a lock is an accountant's decision with a period and a reason, not
something a full materialization of the graph should do. The dbt marts read the `close` tables
(sources `close.*`), so the next ledger build serves a locked month from its frozen lines. The lock
freezes every entity's close package with it (`exporters/close_package/frozen.py`); `exports`
names the default entity, whose package lists the unassigned bank lines.

A lock runs every blocking proof itself (the accounting configuration, `dbt test` on the marts and
the GX suites, as the CLI export guard does) on the warehouse it is about to freeze: check results
from an earlier run would not cover a ledger an hourly run rebuilt since, and a locked month never
changes. The frozen packages show those proofs, passed (or warned) at the lock's time.
"""

from typing import Literal

import dagster as dg

from exporters.close_package.frozen import lock_with_packages
from exporters.guard import prove_ledger
from ledger import period_close
from ledger.config import CloseSettings
from orchestration.defs.export.guard import proofs_at_lock
from orchestration.defs.resources import ExportResource, WarehouseResource


class PeriodCloseConfig(dg.Config):
    """Which month (YYYY-MM), whether to lock or reopen it, and for a reopening, why.
    allow_empty: lock the month even though it has no journal lines (refused otherwise)."""

    period: str
    action: Literal["lock", "reopen"] = "lock"
    reason: str = ""
    actor: str = "dagster"
    allow_empty: bool = False


@dg.op(pool="duckdb", description="Locks a period (freezing its journal as last built and every entity's close package) "
       "or reopens it with a recorded reason.")
def lock_or_reopen_period(context: dg.OpExecutionContext, config: PeriodCloseConfig, warehouse: WarehouseResource, exports: ExportResource) -> dict:
    if config.action == "lock":
        proof = prove_ledger(warehouse.file)
        if proof.failing:
            raise dg.Failure(
                description=f"{config.period} was NOT locked: the ledger's proofs fail on the warehouse as it is now: " + ", ".join(proof.failing),
                metadata={"failing_proofs": dg.MetadataValue.json(proof.failing)},
            )
        try:
            lock = lock_with_packages(
                warehouse.file, config.period, exports.entity_id, config.actor, config.allow_empty,
                proofs=proofs_at_lock(proof.warnings), dagster_run_id=context.run_id,
                reporting_timezone=CloseSettings.from_env().reporting_timezone,
            )
        except period_close.PeriodCloseError as refused:
            # A refusal is a decision to show in the run's failure, not a traceback to read.
            raise dg.Failure(description=f"{config.period} was NOT locked: {refused}") from None
        context.log.info(f"Locked {lock.period}: {lock.journal_lines} journal lines and the close packages of "
                         f"{', '.join(lock.frozen_packages) or 'no entity'} frozen")
        return {"period": lock.period, "action": "lock", "journal_lines": lock.journal_lines, "close_packages": list(lock.frozen_packages)}
    event = period_close.reopen_period(warehouse.file, config.period, config.reason, config.actor)
    context.log.info(f"Reopened {event.period}: {event.reason}")
    return {"period": event.period, "action": "reopen", "reason": event.reason}


@dg.job(description="Lock a month so its journal never changes, or reopen it with a reason kept on record.")
def period_close_job():
    lock_or_reopen_period()

