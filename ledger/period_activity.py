"""Whether a period has anything booked: the journal lines of a period (of one entity, or all).

A close package or an export of a period without journal lines would show zeros that read as
"nothing happened" when they may mean "nothing was loaded or built": the commands ask here first.
"""

from __future__ import annotations

from pathlib import Path

import duckdb


class LedgerMissing(ValueError):
    """The warehouse has no journal yet: no close has built it."""


def journal_line_count(warehouse: Path, period: str, entity_id: str | None = None) -> int:
    """The journal lines of `period` (YYYY-MM) in the warehouse, of `entity_id` when given."""
    if not Path(warehouse).exists():
        raise LedgerMissing(f"no ledger in {warehouse}: run `stripe-close run` first")
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        (built,) = connection.execute(
            "select count(*) from information_schema.tables where table_schema = 'main' and table_name = 'fct_journal_lines'"
        ).fetchone()
        if not built:
            raise LedgerMissing(f"no ledger in {warehouse}: run `stripe-close run` first")
        (lines,) = connection.execute(
            "select count(*) from main.fct_journal_lines where period = $period and ($entity is null or entity_id = $entity)",
            {"period": period, "entity": entity_id},
        ).fetchone()
        return lines
    finally:
        connection.close()
