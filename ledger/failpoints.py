"""Named points where a close can be made to die on purpose, for the fault-injection sweep.

`CLOSE_FAILPOINT=name` (or `name:N`) kills this process with SIGKILL the first (or N-th) time it
passes the point `name`, the way a power cut or the OOM killer would: no `finally`, no cleanup.
`stripe-close chaos` (orchestration/chaos.py) kills a close at each point and proves that a plain
re-run gives the same books. Unset, as in every real run, a point costs two environment lookups.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

VARIABLE = "CLOSE_FAILPOINT"
# A file to which every pass appends the point's name: how the sweep learns how often a close passes each.
TRACE_VARIABLE = "CLOSE_FAILPOINT_TRACE"
POINTS = (
    "warehouse.commit",  # a raw-data transaction (Stripe pages, cursors, bank files, snapshots) about to commit
    "dbt.event",  # dbt building the ledger and running its proofs (one pass per dbt event)
    "gx.suite",  # the Great Expectations proofs (one pass per suite)
    "export.write",  # an export, package or manifest file written, not yet renamed into place
    "package.html",  # a close package's HTML published, its workbook not yet
    "period.lock",  # a lock recorded and its close packages frozen, its journal not yet (one transaction: nothing survives)
    "push.netsuite",  # a journal entry about to be upserted to NetSuite
    "push.sap",  # a batch of journal entries about to be posted to SAP
)
_passes: Counter[str] = Counter()


def reached(point: str) -> None:
    trace = os.environ.get(TRACE_VARIABLE)
    if trace:
        with open(trace, "a") as stream:
            stream.write(point + "\n")
    wanted = os.environ.get(VARIABLE)
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name != point:
        return
    _passes[point] += 1
    if _passes[point] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
