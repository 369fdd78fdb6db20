"""Export one period of one entity from the warehouse into `<export dir>/<entity>/<period>/`."""

from __future__ import annotations

from pathlib import Path

import duckdb

from exporters import netsuite
from exporters.journal import load_journal_lines, periods

NETSUITE_FILE = "netsuite_journal_entries.csv"


def export_periods(warehouse: Path, export_dir: Path, entity_id: str, wanted: list[str] | None = None) -> list[netsuite.ExportedFile]:
    """Write the NetSuite file of each wanted period (every period in the ledger when None)."""
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        available = periods(connection, entity_id)
        missing = sorted(set(wanted or []) - set(available))
        if missing:
            raise ValueError(f"no journal lines for entity {entity_id!r} in period(s) {missing}; the ledger has {available}")
        exported = []
        for period in wanted or available:
            lines = load_journal_lines(connection, entity_id, period)
            exported.append(netsuite.write_csv(lines, export_dir / entity_id / period / NETSUITE_FILE, subsidiary=entity_id))
        return exported
    finally:
        connection.close()
