"""The DuckDB warehouse file: the raw landing tables and idempotent writes into them.

Raw tables are keyed by Stripe id (`RAW_KEYS`), so landing the same objects twice replaces rather
than duplicates. Both sources (the API and Data Pipeline exports) fill the same raw tables with the
same columns; only `_source` and `_loaded_at` say where a row came from.

The three big Stripe tables (`DELIVERED_TABLES`) are views that read as one table: the rows landed
row by row (`<table>_landed`: the API, the sandbox) and, under keys those lack, the newest Data
Pipeline delivery (`<table>_delivered`, a view over the delivery's parquet files kept beside the
warehouse). Copying ten million rows into DuckDB cost most of a delivery's load; reading the
parquet where it lies costs nothing at load and about what a table scan costs at each read.

The keys are kept by the writes here (every write replaces by key, in one transaction) rather than
by PRIMARY KEY constraints: DuckDB maintains a constraint through an ART index on every insert,
which made loading millions of rows take minutes and gigabytes; a hash join per write does the
same job at a fraction of the cost. dbt's `unique` tests on the staging ids check the result on
every build. Warehouses created with the constraints keep working.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from ledger import failpoints
from ledger.sources.bank.raw_tables import BANK_RAW_TABLES
from ledger.sources.source_tables import SOURCE_RAW_KEYS, SOURCE_RAW_TABLES

RAW_SCHEMA = "raw"

# Stripe ids are random: DuckDB's default string compression (dictionary + FSST) saves little on
# them and was 40% of the CPU of landing ten million balance transactions, so they are stored
# as they are.
STRIPE_ID = "varchar using compression uncompressed"

# The raw Stripe tables, each row carrying the Stripe account it came from.
STRIPE_ACCOUNT_TABLES = (
    "stripe_balance_transactions", "stripe_fee_details", "stripe_payouts", "stripe_payout_transactions", "stripe_balance_snapshots",
    *SOURCE_RAW_TABLES,
)

RAW_TABLES: dict[str, str] = {
    "stripe_balance_transactions": f"""
        id {STRIPE_ID} not null,
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
        source_id {STRIPE_ID},
        exchange_rate decimal(38, 18),
        balance_type varchar,
        stripe_account_id varchar,
        _source varchar not null,
        _loaded_at timestamp not null
    """,
    "stripe_fee_details": f"""
        balance_transaction_id {STRIPE_ID} not null,
        position integer not null,
        amount bigint not null,
        currency varchar not null,
        type varchar not null,
        description varchar,
        application varchar,
        stripe_account_id varchar,
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
        stripe_account_id varchar,
        _source varchar not null,
        _loaded_at timestamp not null
    """,
    "stripe_payout_transactions": f"""
        payout_id varchar not null,
        balance_transaction_id {STRIPE_ID} not null,
        stripe_account_id varchar,
        _source varchar not null,
        _loaded_at timestamp not null
    """,
    "stripe_balance_snapshots": """
        as_of timestamp not null,
        currency varchar not null,
        available_minor bigint not null,
        pending_minor bigint not null,
        connect_reserved_minor bigint not null,
        stripe_account_id varchar,
        _source varchar not null,
        _loaded_at timestamp not null
    """,
    **SOURCE_RAW_TABLES,
    **BANK_RAW_TABLES,
}

RAW_KEYS: dict[str, tuple[str, ...]] = {
    "stripe_balance_transactions": ("id",),
    "stripe_fee_details": ("balance_transaction_id", "position"),
    "stripe_payouts": ("id",),
    "stripe_payout_transactions": ("payout_id", "balance_transaction_id"),
    "stripe_balance_snapshots": ("stripe_account_id", "as_of", "currency"),
    **SOURCE_RAW_KEYS,
}

# Columns added after a table first shipped: warehouses created earlier gain them on connect.
# `stripe_account_id` is null on rows landed before it (the default entity books them).
ADDED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("stripe_payouts", "not_itemizable_reason varchar"),
    *((table, "stripe_account_id varchar") for table in STRIPE_ACCOUNT_TABLES),
)

# Tables a Data Pipeline delivery fills by reference to its parquet files rather than by copy.
DELIVERED_TABLES = ("stripe_balance_transactions", "stripe_fee_details", "stripe_payout_transactions")

STATE_SCHEMA = "ingest_state"
# One position per stream and Stripe account (`account_stream`): the `created` time up to which every object is landed, or for the Data
# Pipeline the run time of the newest export loaded. It only moves once everything before it is in.
CURSOR_TABLE = f"{STATE_SCHEMA}.cursors"


def account_stream(stream: str, stripe_account: str | None) -> str:
    """The cursor name of `stream` for a connected account; the key's own account (None) keeps
    the plain stream name it has always had."""
    return stream if stripe_account is None else f"{stream}@{stripe_account}"


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


def landed_table(table: str) -> str:
    """Where rows of raw `table` are written: its own table, or for a delivered table the landed part."""
    return f"{RAW_SCHEMA}.{table}_landed" if table in DELIVERED_TABLES else f"{RAW_SCHEMA}.{table}"


def delivered_view(table: str) -> str:
    return f"{RAW_SCHEMA}.{table}_delivered"


def ensure_raw_tables(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(f"create schema if not exists {RAW_SCHEMA}")
    for table in DELIVERED_TABLES:
        # Warehouses from before deliveries were kept as files hold these as plain tables.
        if _is_table(connection, table):
            connection.execute(f"alter table {RAW_SCHEMA}.{table} rename to {table}_landed")
    for table, columns in RAW_TABLES.items():
        connection.execute(f"create table if not exists {landed_table(table)} ({columns})")
    for table, column in ADDED_COLUMNS:
        connection.execute(f"alter table {landed_table(table)} add column if not exists {column}")
    for table in DELIVERED_TABLES:
        connection.execute(f"create view if not exists {delivered_view(table)} as select * from {landed_table(table)} where false")
        connection.execute(
            f"create or replace view {RAW_SCHEMA}.{table} as select * from {landed_table(table)} "
            f"union all by name select delivered.* from {delivered_view(table)} as delivered "
            f"anti join {landed_table(table)} as landed using ({', '.join(RAW_KEYS[table])})"
        )
    connection.execute(f"create schema if not exists {STATE_SCHEMA}")
    connection.execute(
        f"create table if not exists {CURSOR_TABLE} (stream varchar primary key, position timestamp not null, updated_at timestamp not null)"
    )


def _is_table(connection: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(connection.execute(
        "select 1 from duckdb_tables() where database_name = current_database() and schema_name = ? and table_name = ?", [RAW_SCHEMA, name]
    ).fetchall())


@dataclass(frozen=True)
class LandedColumn:
    """A column of a raw table as the warehouse file declares it: what every row of it must be."""

    name: str
    sql_type: str  # DuckDB's name for it: BIGINT, TIMESTAMP, VARCHAR, DECIMAL(38,18)...
    nullable: bool


def landed_columns(connection: duckdb.DuckDBPyConnection, table: str) -> list[LandedColumn]:
    """The columns of raw `table` (its landed part for a delivered table), in order."""
    schema, name = landed_table(table).split(".")
    rows = connection.execute(
        "select column_name, data_type, is_nullable = 'YES' from information_schema.columns "
        "where table_catalog = current_database() and table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()
    return [LandedColumn(*row) for row in rows]


def deliver(connection: duckdb.DuckDBPyConnection, table: str, relation: str) -> None:
    """Make `relation` (SQL over a delivery's files: a full snapshot of `table`, unique keys) the
    delivered rows of raw `table`, inside the caller's transaction. Its columns are cast to the
    landed table's, so the two parts read alike. Landed rows under the delivery's keys are older
    than it and go; rows landed later, and under keys it lacks, stay and win."""
    listed = ", ".join(f"cast({column.name} as {column.sql_type}) as {column.name}" for column in landed_columns(connection, table))
    connection.execute(f"create or replace view {delivered_view(table)} as select {listed} from ({relation})")
    if connection.execute(f"select 1 from {landed_table(table)} limit 1").fetchall():
        matched = " and ".join(f"landed.{key} = delivered.{key}" for key in RAW_KEYS[table])
        connection.execute(f"delete from {landed_table(table)} as landed using {delivered_view(table)} as delivered where {matched}")


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
    failpoints.reached("warehouse.commit")
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


def write_rows(connection: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> int:
    """`upsert` inside the caller's transaction, for loads that write several tables at once.
    Within `rows`, the last row of a key wins."""
    if rows.num_rows == 0:
        return 0
    if table not in RAW_TABLES:
        raise ValueError(f"unknown raw table {table!r}; expected one of {sorted(RAW_TABLES)}")
    if table in STRIPE_ACCOUNT_TABLES and "stripe_account_id" not in rows.column_names:
        # From a source that does not know the account (the default entity books them).
        rows = rows.append_column("stripe_account_id", pa.nulls(rows.num_rows, pa.string()))
    keys = ", ".join(RAW_KEYS[table])
    # `stripe_account_id` may be null (such rows): null matches null.
    matched = " and ".join(f"t.{key} {'is not distinct from' if key == 'stripe_account_id' else '='} i.{key}" for key in RAW_KEYS[table])
    connection.register("incoming_rows", rows)
    try:
        connection.execute(
            "create or replace temp table incoming_unique as select * from (select *, row_number() over () as _arrival from incoming_rows) "
            f"qualify _arrival = max(_arrival) over (partition by {keys})"
        )
        connection.execute(f"delete from {landed_table(table)} as t using incoming_unique as i where {matched}")
        count = connection.execute(f"insert into {landed_table(table)} by name select * exclude (_arrival) from incoming_unique").fetchall()[0][0]
    finally:
        connection.unregister("incoming_rows")
        connection.execute("drop table if exists incoming_unique")
    return count
