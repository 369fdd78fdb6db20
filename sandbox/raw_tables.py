"""A simulated world straight into the warehouse's raw tables, as the API ingestion would land it.

For benchmarks and ledger tests that measure or exercise the ledger alone: the rows are built
column-wise from the simulator's arrow tables (ten million transactions in seconds), with the same
shapes and semantics as `ledger.sources.stripe_records` gives objects read through the API at the
world's clock: payout status and itemization as of `as_of`, fee details, a balance snapshot; and
the source objects (`sandbox.sales`: charges, invoices, the catalog...) in the same raw tables and
rows ingestion lands them in (`ledger.sources.source_tables`), personal data left out as by default.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledger import warehouse
from ledger.sources import source_tables, stripe_records
from sandbox import stripe_objects
from sandbox.merchant import World
from sandbox.sales import sales
from sandbox.sales_columns import source_object_chunks

SOURCE = "sandbox"
TIMESTAMP = pa.timestamp("us")
# Source objects converted to Arrow at a time: bounds the Python lists a big world holds at once.
SOURCE_CHUNK = 20_000


def _timestamps(column: pa.ChunkedArray) -> pa.Array:
    return pc.multiply(column, 1_000_000).cast(TIMESTAMP)


def _constant(value: object, count: int, type_: pa.DataType) -> pa.Array:
    return pa.array(np.full(count, value, dtype=object) if count else [], type_)


def balance_transaction_rows(world: World, loaded_at: datetime) -> tuple[pa.Table, pa.Table]:
    """raw.stripe_balance_transactions and raw.stripe_fee_details rows of the transactions created by `as_of`."""
    table = world.balance_transactions.filter(pc.less_equal(world.balance_transactions["created"], world.as_of))
    count = table.num_rows
    status = pc.if_else(pc.less_equal(table["available_on"], world.as_of), "available", "pending")
    transactions = pa.table(
        {
            "id": table["id"],
            "amount": table["amount"],
            "fee": table["fee"],
            "net": table["net"],
            "currency": table["currency"],
            "type": table["type"],
            "reporting_category": table["reporting_category"],
            "created": _timestamps(table["created"]),
            "available_on": _timestamps(table["available_on"]),
            "status": status,
            "description": table["description"],
            "source_id": table["source"],
            "exchange_rate": pa.nulls(count, pa.decimal128(38, 18)),
            "balance_type": _constant("payments", count, pa.string()),
            "_source": _constant(SOURCE, count, pa.string()),
            "_loaded_at": pa.array(np.full(count, np.datetime64(loaded_at, "us")), TIMESTAMP),
        }
    )
    return transactions, fee_detail_rows(table, loaded_at)


def fee_detail_rows(table: pa.Table, loaded_at: datetime) -> pa.Table:
    """The `fee_details` of each transaction, as `stripe_objects.fee_details` itemizes them."""
    has_stripe_fee = pc.is_valid(table["fee_detail_type"]).to_numpy(zero_copy_only=False)
    has_application_fee = pc.not_equal(table["application_fee"], 0).to_numpy(zero_copy_only=False)
    stripe_part = pc.subtract(pc.subtract(table["fee"], table["application_fee"]), table["fee_tax"])
    components = [
        (has_stripe_fee, table["fee_detail_type"], table["fee_detail_description"], stripe_part, None, 0),
        (has_application_fee, "application_fee", stripe_objects.APPLICATION_FEE_DESCRIPTION, table["application_fee"],
         stripe_objects.PLATFORM_APPLICATION, has_stripe_fee.astype(np.int32)),
        (pc.not_equal(table["fee_tax"], 0).to_numpy(zero_copy_only=False), "tax", stripe_objects.FEE_TAX_DESCRIPTION,
         table["fee_tax"], None, has_stripe_fee.astype(np.int32) + has_application_fee.astype(np.int32)),
    ]
    parts = []
    for present, kind, description, amount, application, position in components:
        mask = pa.array(present)
        count = int(present.sum())
        parts.append(pa.table({
            "balance_transaction_id": table["id"].filter(mask),
            "position": pa.array(np.broadcast_to(position, present.shape)[present].astype(np.int32)),
            "amount": amount.filter(mask),
            "currency": table["currency"].filter(mask),
            "type": kind.filter(mask) if isinstance(kind, pa.ChunkedArray) else _constant(kind, count, pa.string()),
            "description": (description.filter(mask) if isinstance(description, pa.ChunkedArray)
                            else _constant(description, count, pa.string())),
            "application": _constant(application, count, pa.string()),
            "_source": _constant(SOURCE, count, pa.string()),
            "_loaded_at": pa.array(np.full(count, np.datetime64(loaded_at, "us")), TIMESTAMP),
        }))
    return pa.concat_tables([part.cast(parts[0].schema) for part in parts])


def payout_rows(world: World, loaded_at: datetime) -> tuple[pa.Table, pa.Table]:
    """raw.stripe_payouts rows (status at `as_of`) and the itemization of reconciled payouts."""
    visible = [row for row in world.payouts.to_pylist() if row["created"] <= world.as_of]
    objects = [stripe_objects.payout(row, world.as_of) for row in visible]
    payouts = stripe_records.payout_rows(objects, SOURCE, loaded_at)
    reconciled = pa.array([o["id"] for o in objects if o["reconciliation_status"] == "completed"], pa.string())
    transactions = world.balance_transactions
    in_reconciled = transactions.filter(
        pc.and_(pc.is_in(transactions["automatic_payout_id"], value_set=reconciled),
                pc.less_equal(transactions["created"], world.as_of))
    )
    count = in_reconciled.num_rows
    links = pa.table({
        "payout_id": in_reconciled["automatic_payout_id"],
        "balance_transaction_id": in_reconciled["id"],
        "_source": _constant(SOURCE, count, pa.string()),
        "_loaded_at": pa.array(np.full(count, np.datetime64(loaded_at, "us")), TIMESTAMP),
    })
    return payouts, links


def source_object_rows(world: World, loaded_at: datetime) -> dict[str, pa.Table]:
    """The raw rows of the world's source objects created by `as_of`, per raw table."""
    parts: dict[str, list[pa.Table]] = {table.name: [] for table in source_tables.TABLES}
    for resource, objects in sales(world).by_resource().items():
        visible = [item for item in objects if item["created"] <= world.as_of]
        for start in range(0, len(visible), SOURCE_CHUNK):
            for table, rows in source_tables.rows(resource, visible[start:start + SOURCE_CHUNK], SOURCE, loaded_at).items():
                parts[table].append(rows)
    return {table: pa.concat_tables(tables) for table, tables in parts.items() if tables}


def load_world(connection: duckdb.DuckDBPyConnection, world: World, source_objects: bool = True, generated_sales: bool = False) -> dict[str, int]:
    """Land the whole world into the raw tables, its source objects too unless `source_objects` is
    false; returns the row count per table. The source objects are built object by object
    (`sandbox.sales`, what the sandbox API serves): about a millisecond per balance transaction.
    With `generated_sales` they are drawn column-wise instead (`sandbox.sales_columns`: the same
    tables and kinds of rows, other draws), in seconds per million and a chunk of days at a time, for benchmarks."""
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    counts: dict[str, int] = {}
    # One table at a time, each let go once inserted: a big world's rows are not all held at once.
    for table, rows in _balance_rows(world, loaded_at):
        counts[table] = _insert(connection, table, rows)
    if not source_objects:
        return counts
    chunks = source_object_chunks(world, SOURCE, loaded_at) if generated_sales else [source_object_rows(world, loaded_at)]
    for chunk in chunks:
        for table in list(chunk):
            # Later chunks append: their ids are new (sales_columns), so no keyed upsert is needed.
            counts[table] = counts.get(table, 0) + _insert(connection, table, chunk.pop(table), append=table in counts)
    return counts


def _balance_rows(world: World, loaded_at: datetime) -> Iterator[tuple[str, pa.Table]]:
    transactions, fee_details = balance_transaction_rows(world, loaded_at)
    yield "stripe_balance_transactions", transactions
    del transactions
    yield "stripe_fee_details", fee_details
    del fee_details
    payouts, links = payout_rows(world, loaded_at)
    yield "stripe_payouts", payouts
    yield "stripe_payout_transactions", links
    as_of = datetime.fromtimestamp(world.as_of, tz=timezone.utc).replace(tzinfo=None)
    yield "stripe_balance_snapshots", stripe_records.balance_snapshot_rows(stripe_objects.balance(world, world.as_of), as_of, SOURCE, loaded_at)


def _insert(connection: duckdb.DuckDBPyConnection, table: str, rows: pa.Table, append: bool = False) -> int:
    """A plain insert into an empty table (a benchmark's fresh warehouse) or when told to `append`
    new rows, else the keyed upsert."""
    [(existing,)] = connection.execute(f"select count(*) from {warehouse.RAW_SCHEMA}.{table}").fetchall()
    if existing and not append:
        return warehouse.upsert(connection, table, rows)
    connection.register("world_rows", rows)
    try:
        connection.execute(f"insert into {warehouse.landed_table(table)} by name select * from world_rows")
    finally:
        connection.unregister("world_rows")
    return rows.num_rows
