"""What a control figure that does not add up means, and what happens then.

Two kinds of figure, two answers:

* Checksums (BAI2 49/98/99 control totals and record counts, camt `TxsSummry` entry counts and
  sums). The bank computes them over the very records of this file, so a mismatch proves the
  file was damaged, truncated or edited: the file is refused, naming every failed total. A
  caller who has checked with the bank can accept such a file with `control_totals="warn"`; the
  mismatches then become warnings. Among the samples three need that: moov-io's Goldman Sachs
  fixture was spliced from two files (accounts inserted without updating 49/98/99), and the ING
  and Wise camt files are excerpts that kept the summary of the entries cut out.
* Statement assertions (camt and MT940 opening + booked entries = closing).
  They describe the account over the statement period, and a file can legitimately carry fewer
  entries than that period: paginated statements, pending entries reported elsewhere, and the
  anonymized or excerpted copies banks hand out (eight samples do not add up, among them the
  ABN AMRO, ING and Knab MT940 files and the ING, Wise and UBS camt files). Every entry in the
  file is still exact, so the file is kept: the failed check is recorded and reported as a
  warning, for the close to raise as a reconciliation exception.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from ledger.sources.bank.model import BankStatementError, ControlCheck, StatementLine

ControlTotalPolicy = Literal["error", "warn"]


def enforce_checksums(file_name: str, checks: Iterable[ControlCheck], policy: ControlTotalPolicy) -> tuple[str, ...]:
    """Raise on failed checksums (policy "error"), or return them as warnings (policy "warn")."""
    failed = [check for check in checks if not check.ok]
    if not failed:
        return ()
    if policy == "warn":
        return tuple(check.describe() for check in failed)
    raise BankStatementError(
        file_name,
        failed[0].line,
        "; ".join(check.describe() for check in failed)
        + ". The file is damaged or was edited: ask the bank to send it again, or parse it with"
        " control_totals='warn' (CLI: --accept-control-total-mismatch) once the bank confirms it",
    )


def assertion_warnings(checks: Iterable[ControlCheck]) -> tuple[str, ...]:
    return tuple(f"{check.describe()}: entries may be missing from this file" for check in checks if not check.ok)


def signed_sum(entries: Iterable[StatementLine]) -> int:
    """Net movement of booked entries: credits add, debits subtract."""
    return sum(
        entry.amount_minor if entry.direction == "credit" else -entry.amount_minor
        for entry in entries
        if entry.status == "booked"
    )
