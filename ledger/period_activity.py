"""Whether a period has anything booked: the journal lines of a period (of one entity, or all).

A close package or an export of a period without journal lines would show zeros that read as
"nothing happened" when they may mean "nothing was loaded or built": the commands ask here first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb


class LedgerMissing(ValueError):
    """The warehouse has no journal yet (no close has built it), or not even Stripe data."""


def journal_line_count(warehouse: Path, period: str, entity_id: str | None = None) -> int:
    """The journal lines of `period` (YYYY-MM) in the warehouse, of `entity_id` when given."""
    with _opened_with(warehouse, "main", "fct_journal_lines", "no ledger") as connection:
        (lines,) = connection.execute(
            "select count(*) from main.fct_journal_lines where period = $period and ($entity is null or entity_id = $entity)",
            {"period": period, "entity": entity_id},
        ).fetchone()
        return lines


def require_ledger(warehouse: Path) -> None:
    """A close has built the journal in `warehouse` (else LedgerMissing)."""
    with _opened_with(warehouse, "main", "fct_journal_lines", "no ledger"):
        pass


def require_ingested(warehouse: Path) -> None:
    """Stripe data was landed in `warehouse` (else LedgerMissing): a build from nothing fails on every model."""
    with _opened_with(warehouse, "raw", "stripe_balance_transactions", "no Stripe data"):
        pass


@contextmanager
def _opened_with(warehouse: Path, schema: str, table: str, missing: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """`warehouse` read-only, once it is known to hold `schema.table`; never creates the file."""
    if not Path(warehouse).exists():
        raise LedgerMissing(f"{missing} in {warehouse}: run `stripe-close run` first")
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        (present,) = connection.execute(
            "select count(*) from information_schema.tables where table_schema = $schema and table_name = $table", {"schema": schema, "table": table},
        ).fetchone()
        if not present:
            raise LedgerMissing(f"{missing} in {warehouse}: run `stripe-close run` first")
        yield connection
    finally:
        connection.close()
