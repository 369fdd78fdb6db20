"""The warnings stored with the current version of each loaded statement file, whatever its format.

What the parsers read as assumed (`deviations`), closing balances that do not add up, and new
versions of a file: the Dagster warning check lists these, and `fct_reconciliation_exceptions`
has one `bank_file_warning` row for each. A superseded version's warnings no longer apply: its
lines were replaced.
"""

from __future__ import annotations

import duckdb


def current_file_warnings(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(file name, warning) for every warning of the current loaded version of each file, by file name."""
    rows = connection.execute(
        """
        select file_name, warnings
        from raw.bank_statement_files
        where status = 'loaded'
        qualify version = max(version) over (partition by file_name)
        order by file_name
        """
    ).fetchall()
    return [(file_name, warning) for file_name, warnings in rows for warning in warnings]
