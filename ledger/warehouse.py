"""The DuckDB warehouse file: the raw landing tables and idempotent writes into them.

Raw tables are keyed by Stripe id (`RAW_KEYS`), so landing the same objects twice replaces rather
than duplicates. Both sources (the API and Data Pipeline exports) fill the same tables with the
same columns; only `_source` and `_loaded_at` say where a row came from.

The keys are kept by the writes here (every write replaces by key, in one transaction) rather than
by PRIMARY KEY constraints: DuckDB maintains a constraint through an ART index on every insert,
which made loading a ten-million-row Data Pipeline delivery take minutes and gigabytes; a hash
join per write does the same job at a fraction of the cost. dbt's `unique` tests on the staging
ids check the result on every build. Warehouses created with the constraints keep working.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from ledger.sources.bank.raw_tables import BANK_RAW_TABLES

RAW_SCHEMA = "raw"

RAW_TABLES: dict[str, str] = {
    "stripe_balance_transactions": """
        id varchar not null,
        amount bigint not null,
        fee bigint not null,
        net bigint not null,
        currency varchar not null,
        type varchar not null,
        reporting_category varchar,
        created timestamp not null,
        available_on timestamp not null,
        status varchar,
        description varchar,
        source_id varchar,
        exchange_rate decimal(38, 18),
        balance_type varchar,
        _source varchar not null,
        _loaded_at timestamp not null
    """,
    "stripe_fee_details": """
        balance_transaction_id varchar not null,
        position integer not null,
        amount bigint not null,
        currency varchar not null,
        type varchar not null,
        description varchar,
        application varchar,
        _source varchar not null,
        _loaded_at timestamp not null
    """,
    "stripe_payouts": """
        id varchar not null,
        amount bigint not null,
        currency varchar not null,
        status varchar not null,
        created timestamp not null,
        arrival_date timestamp not null,
        automatic boolean not null,
        method varchar,
        type varchar,
        balance_transaction_id varchar,
        failure_balance_transaction_id varchar,
        failure_code varchar,
        failure_message varchar,
        reconciliation_status varchar,
        trace_id_status varchar,
        trace_id_value varchar,
        destination_id varchar,
        statement_descriptor varchar,
        description varchar,
        not_itemizable_reason varchar,
        _source varchar not null,
        _loaded_at timestamp not null
    """,
    "stripe_payout_transactions": """
        payout_id varchar not null,
        balance_transaction_id varchar not null,
        _source varchar not null,
        _loaded_at timestamp not null
    """,
    "stripe_balance_snapshots": """
        as_of timestamp not null,
        currency varchar not null,
        available_minor bigint not null,
        pending_minor bigint not null,
        connect_reserved_minor bigint not null,
        _source varchar not null,
        _loaded_at timestamp not null
    """,
    **BANK_RAW_TABLES,
}

RAW_KEYS: dict[str, tuple[str, ...]] = {
    "stripe_balance_transactions": ("id",),
    "stripe_fee_details": ("balance_transaction_id", "position"),
    "stripe_payouts": ("id",),
    "stripe_payout_transactions": ("payout_id", "balance_transaction_id"),
    "stripe_balance_snapshots": ("as_of", "currency"),
}

# Columns added after a table first shipped: warehouses created earlier gain them on connect.
ADDED_COLUMNS: tuple[tuple[str, str], ...] = (("stripe_payouts", "not_itemizable_reason varchar"),)

STATE_SCHEMA = "ingest_state"
# One position per stream: the `created` time up to which every object is landed, or for the Data
# Pipeline the run time of the newest export loaded. It only moves once everything before it is in.
CURSOR_TABLE = f"{STATE_SCHEMA}.cursors"


@contextmanager
def connect(path: Path | str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the warehouse file, closed on exit so dbt can take the lock."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(path))
    try:
        ensure_raw_tables(connection)
        yield connection
    finally:
        connection.close()


def ensure_raw_tables(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(f"create schema if not exists {RAW_SCHEMA}")
    for table, columns in RAW_TABLES.items():
        connection.execute(f"create table if not exists {RAW_SCHEMA}.{table} ({columns})")
    for table, column in ADDED_COLUMNS:
        connection.execute(f"alter table {RAW_SCHEMA}.{table} add column if not exists {column}")
    connection.execute(f"create schema if not exists {STATE_SCHEMA}")
    connection.execute(
        f"create table if not exists {CURSOR_TABLE} (stream varchar primary key, position timestamp not null, updated_at timestamp not null)"
    )


def read_cursor(connection: duckdb.DuckDBPyConnection, stream: str) -> datetime | None:
    """The stream's position (naive UTC), or None before its first complete run."""
    rows = connection.execute(f"select position from {CURSOR_TABLE} where stream = ?", [stream]).fetchall()
    return rows[0][0] if rows else None


def advance_cursors(connection: duckdb.DuckDBPyConnection, positions: dict[str, datetime]) -> None:
    """Move each stream's cursor forward to its position (naive UTC) (never backwards: a backfill of an old range
    must not make the next incremental run re-read years), all streams in one transaction."""
    with transaction(connection):
        for stream, position in positions.items():
            write_cursor(connection, stream, position)


def write_cursor(connection: duckdb.DuckDBPyConnection, stream: str, position: datetime) -> None:
    """`advance_cursors` for one stream inside the caller's transaction; `position` is naive UTC."""
    connection.execute(
        f"insert into {CURSOR_TABLE} values (?, ?, ?) on conflict (stream) do update "
        "set position = greatest(position, excluded.position), updated_at = excluded.updated_at",
        [stream, position, datetime.now(timezone.utc).replace(tzinfo=None)],
    )


@contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All or nothing: commit on success, roll back on any error."""
    connection.execute("begin transaction")
    try:
        yield
    except BaseException:
        connection.execute("rollback")
        raise
    connection.execute("commit")


def upsert(connection: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> int:
    """Insert `rows` into raw.`table`, replacing rows with the same key; all or nothing."""
    with transaction(connection):
        return write_rows(connection, table, rows)


def upsert_tables(connection: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table]) -> int:
    """`upsert` several tables in one transaction (e.g. balance transactions and their fee details,
    so a crash never leaves one without the other); returns the rows of the first."""
    with transaction(connection):
        counts = [write_rows(connection, table, rows) for table, rows in tables.items()]
    return counts[0] if counts else 0


LOAD_COLUMNS = ("_source", "_loaded_at")


def merge_from(connection: duckdb.DuckDBPyConnection, table: str, source: str) -> tuple[int, int]:
    """Bring raw.`table` up to date with the relation `source` (same columns, unique keys), inside
    the caller's transaction: rows with a new key are inserted, rows whose values changed are
    updated, unchanged rows are left alone (with their `_loaded_at`). Returns (inserted, updated).
    For full-snapshot loads, where most rows did not change."""
    keys = RAW_KEYS[table]
    columns = [row[0] for row in connection.execute(f"describe {RAW_SCHEMA}.{table}").fetchall()]
    values = [column for column in columns if column not in keys]
    matched = " and ".join(f"t.{key} = s.{key}" for key in keys)
    changed = " or ".join(f"t.{column} is distinct from s.{column}" for column in values if column not in LOAD_COLUMNS)
    updated = connection.execute(
        f"update {RAW_SCHEMA}.{table} as t set {', '.join(f'{column} = s.{column}' for column in values)} "
        f"from {source} as s where {matched} and ({changed})"
    ).fetchall()[0][0] if changed else 0
    inserted = connection.execute(
        f"insert into {RAW_SCHEMA}.{table} by name select s.* from {source} as s anti join {RAW_SCHEMA}.{table} as t using ({', '.join(keys)})"
    ).fetchall()[0][0]
    return inserted, updated


def write_rows(connection: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> int:
    """`upsert` inside the caller's transaction, for loads that write several tables at once.
    Within `rows`, the last row of a key wins."""
    if rows.num_rows == 0:
        return 0
    if table not in RAW_TABLES:
        raise ValueError(f"unknown raw table {table!r}; expected one of {sorted(RAW_TABLES)}")
    keys = ", ".join(RAW_KEYS[table])
    matched = " and ".join(f"t.{key} = i.{key}" for key in RAW_KEYS[table])
    connection.register("incoming_rows", rows)
    try:
        connection.execute(
            "create or replace temp table incoming_unique as select * from (select *, row_number() over () as _arrival from incoming_rows) "
            f"qualify _arrival = max(_arrival) over (partition by {keys})"
        )
        connection.execute(f"delete from {RAW_SCHEMA}.{table} as t using incoming_unique as i where {matched}")
        count = connection.execute(f"insert into {RAW_SCHEMA}.{table} by name select * exclude (_arrival) from incoming_unique").fetchall()[0][0]
    finally:
        connection.unregister("incoming_rows")
        connection.execute("drop table if exists incoming_unique")
    return count
