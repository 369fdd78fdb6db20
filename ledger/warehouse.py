"""The DuckDB warehouse file: the raw landing tables and idempotent writes into them.

Raw tables are keyed by Stripe id, so landing the same objects twice replaces rather than
duplicates. Both sources (the API and Data Pipeline exports) fill the same tables with the same
columns; only `_source` and `_loaded_at` say where a row came from.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from ledger.sources.bank.raw_tables import BANK_RAW_TABLES

RAW_SCHEMA = "raw"

RAW_TABLES: dict[str, str] = {
    "stripe_balance_transactions": """
        id varchar primary key,
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
        _loaded_at timestamp not null,
        primary key (balance_transaction_id, position)
    """,
    "stripe_payouts": """
        id varchar primary key,
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
        _source varchar not null,
        _loaded_at timestamp not null
    """,
    "stripe_payout_transactions": """
        payout_id varchar not null,
        balance_transaction_id varchar not null,
        _source varchar not null,
        _loaded_at timestamp not null,
        primary key (payout_id, balance_transaction_id)
    """,
    "stripe_balance_snapshots": """
        as_of timestamp not null,
        currency varchar not null,
        available_minor bigint not null,
        pending_minor bigint not null,
        connect_reserved_minor bigint not null,
        _source varchar not null,
        _loaded_at timestamp not null,
        primary key (as_of, currency)
    """,
    **BANK_RAW_TABLES,
}


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


def upsert(connection: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> int:
    """Insert `rows` into raw.`table`, replacing rows with the same key; all or nothing."""
    if rows.num_rows == 0:
        return 0
    if table not in RAW_TABLES:
        raise ValueError(f"unknown raw table {table!r}; expected one of {sorted(RAW_TABLES)}")
    connection.register("incoming_rows", rows)
    try:
        connection.execute("begin transaction")
        connection.execute(f"insert or replace into {RAW_SCHEMA}.{table} by name select * from incoming_rows")
        connection.execute("commit")
    except Exception:
        connection.execute("rollback")
        raise
    finally:
        connection.unregister("incoming_rows")
    return rows.num_rows


def replace_where(connection: duckdb.DuckDBPyConnection, table: str, key: str, keys: list[str], rows: pa.Table) -> int:
    """Replace every row of raw.`table` whose `key` is in `keys` by `rows`, in one transaction.

    For child tables (fee details, payout links) where the set of rows per parent can shrink.
    """
    connection.register("incoming_rows", rows)
    connection.register("replaced_keys", pa.table({"key": pa.array(keys, pa.string())}))
    try:
        connection.execute("begin transaction")
        connection.execute(f"delete from {RAW_SCHEMA}.{table} where {key} in (select key from replaced_keys)")
        if rows.num_rows:
            connection.execute(f"insert into {RAW_SCHEMA}.{table} by name select * from incoming_rows")
        connection.execute("commit")
    except Exception:
        connection.execute("rollback")
        raise
    finally:
        connection.unregister("incoming_rows")
        connection.unregister("replaced_keys")
    return rows.num_rows
