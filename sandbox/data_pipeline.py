"""Stripe Data Pipeline deliveries of the simulated world: parquet tables and a SUCCESS marker on S3.

A delivery is the world as Stripe's warehouse sees it at a run time: the balance transactions
created by then (with `status` and `automatic_transfer_id`), the payouts in `transfers` with the
status they have at that time (the same `stripe_objects.payout` the sandbox API serves) next to the
world's Connect transfers (type `stripe_account`, not payouts), and the fee breakdowns. Column names follow the Sigma schema
(reference/stripe.md 3.2); an extra `merchant_id` column, as Stripe adds, rides along. The source
objects of `sandbox.sales` come as the tables of the raw tables' names without `stripe_`
(`charges`, `invoice_line_items`, ...), personal data included, as Stripe's export holds it.

Tables are written first and the marker last, as Stripe does, so a reader never sees a half run
as complete. Large tables can be written in several parts of one run (`ExportWriter.put`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ledger.sources import source_tables
from ledger.sources.data_pipeline import BALANCE_TRANSACTIONS, FEE_DETAILS, TRANSFERS, DataPipelineSettings
from sandbox import stripe_objects
from sandbox.merchant import OWN_ACCOUNT_ID, World, stable_id
from sandbox.sales import sales

UTC_SECONDS = pa.timestamp("s", tz="UTC")
MERCHANT_ID = OWN_ACCOUNT_ID


def _seconds(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    return pc.cast(column, pa.int64()).cast(UTC_SECONDS)


def balance_transactions(world: World, clock: int) -> pa.Table:
    table = world.balance_transactions
    table = table.filter(pc.less_equal(table["created"], clock))
    available_on = table["available_on"]
    return pa.table({
        "id": table["id"],
        "merchant_id": pa.array([MERCHANT_ID] * table.num_rows, pa.string()),
        "amount": table["amount"],
        "fee": table["fee"],
        "net": table["net"],
        "currency": table["currency"],
        "type": table["type"],
        "reporting_category": table["reporting_category"],
        "created": _seconds(table["created"]),
        "available_on": _seconds(available_on),
        "status": pc.if_else(pc.less_equal(available_on, clock), "available", "pending"),
        "description": table["description"],
        "source_id": table["source"],
        "exchange_rate": pa.nulls(table.num_rows, pa.float64()),
        "balance_type": pa.array(["payments"] * table.num_rows, pa.string()),
        "automatic_transfer_id": table["automatic_payout_id"],
    })


def fee_details(world: World, clock: int) -> pa.Table:
    """The rows of `stripe_objects.fee_details`, column-wise: Stripe's own fee, then the application
    fee, then the tax, each only when present, numbered in that order per transaction."""
    table = world.balance_transactions.filter(pc.less_equal(world.balance_transactions["created"], clock))
    own = pc.is_valid(table["fee_detail_type"])
    application = pc.not_equal(table["application_fee"], 0)
    tax = pc.not_equal(table["fee_tax"], 0)
    as_index = lambda mask: pc.cast(mask, pa.int32())  # noqa: E731 - a one-line conversion
    parts = [
        (own, pa.array(np.zeros(table.num_rows, dtype=np.int32)), pc.subtract(pc.subtract(table["fee"], table["application_fee"]), table["fee_tax"]),
         table["fee_detail_type"], table["fee_detail_description"], None),
        (application, as_index(own), table["application_fee"], "application_fee", stripe_objects.APPLICATION_FEE_DESCRIPTION,
         stripe_objects.PLATFORM_APPLICATION),
        (tax, pc.add(as_index(own), as_index(application)), table["fee_tax"], "tax", stripe_objects.FEE_TAX_DESCRIPTION, None),
    ]
    pieces = []
    for present, index, amount, kind, description, application_id in parts:
        rows = pc.sum(present).as_py() or 0
        index = pc.filter(index, present)
        ids = pc.filter(table["id"], present)
        pieces.append(pa.table({
            "id": pc.binary_join_element_wise(ids, pc.cast(index, pa.string()), "-"),
            "balance_transaction_id": ids,
            "merchant_id": pa.array([MERCHANT_ID] * rows, pa.string()),
            "index": index,
            "amount": pc.filter(amount, present),
            "currency": pc.filter(table["currency"], present),
            "type": pc.filter(kind, present) if isinstance(kind, pa.ChunkedArray) else pa.array([kind] * rows, pa.string()),
            "description": pc.filter(description, present) if isinstance(description, pa.ChunkedArray) else pa.array([description] * rows, pa.string()),
            "application": pa.array([application_id] * rows, pa.string()),
        }))
    return pa.concat_tables(pieces)


def transfers(world: World, clock: int) -> pa.Table:
    """The payouts and the Connect transfers (type `stripe_account`, WorldSpec.connect_transfers), as Sigma's `transfers` keeps both."""
    payouts = [stripe_objects.payout(row, clock) for row in world.payouts.to_pylist() if row["created"] <= clock]
    connect = [{**transfer, "status": "paid", "arrival_date": transfer["created"], "automatic": False, "type": "stripe_account",
                "trace_id": {}, "statement_descriptor": None}
               for transfer in sales(world).transfers if transfer["created"] <= clock]
    rows = [*payouts, *connect]

    def column(name: str, kind: pa.DataType = pa.string()) -> pa.Array:
        return pa.array([row.get(name) for row in rows], kind)

    return pa.table({
        "id": column("id"),
        "merchant_id": pa.array([MERCHANT_ID] * len(rows), pa.string()),
        "amount": column("amount", pa.int64()),
        "currency": column("currency"),
        "status": column("status"),
        "created": _seconds(column("created", pa.int64())),
        "date": _seconds(column("arrival_date", pa.int64())),
        "type": column("type"),
        "automatic": column("automatic", pa.bool_()),
        "method": column("method"),
        "balance_transaction_id": column("balance_transaction"),
        "failure_balance_transaction_id": column("failure_balance_transaction"),
        "failure_code": column("failure_code"),
        "failure_message": column("failure_message"),
        "reconciliation_status": column("reconciliation_status"),
        "trace_id_status": pa.array([(row["trace_id"] or {}).get("status") for row in rows], pa.string()),
        "trace_id_value": pa.array([(row["trace_id"] or {}).get("value") for row in rows], pa.string()),
        "destination_id": column("destination"),
        "statement_descriptor": column("statement_descriptor"),
        "description": column("description"),
        "amount_reversed": column("amount_reversed", pa.int64()),
        "destination_payment_id": column("destination_payment"),
        "source_transaction_id": column("source_transaction"),
        "source_type": column("source_type"),
        "transfer_group": column("transfer_group"),
        "reversed": column("reversed", pa.bool_()),
    })


def source_object_tables(world: World, clock: int) -> dict[str, pa.Table]:
    """The source objects created by `clock`, as the tables of the same names (`charges`,
    `invoice_line_items`, ...): Stripe's export holds every column, personal data included."""
    loaded_at = datetime.fromtimestamp(clock, tz=timezone.utc).replace(tzinfo=None)
    tables = {}
    for resource, objects in sales(world).by_resource().items():
        visible = [item for item in objects if item["created"] <= clock]
        if resource == "transfers":
            continue  # delivered in `transfers`, beside the payouts
        for name, rows in source_tables.rows(resource, visible, "export", loaded_at, frozenset(source_tables.PERSONAL_COLUMNS)).items():
            rows = rows.drop_columns(["_source", "_loaded_at"])
            tables[source_tables.BY_NAME[name].delivered_name] = rows.append_column("merchant_id", pa.array([MERCHANT_ID] * rows.num_rows, pa.string()))
    return tables


@dataclass
class ExportWriter:
    """One delivery run: `put` table parts, then `complete` writes the SUCCESS marker."""

    s3: Any
    layout: DataPipelineSettings
    run_time: datetime

    @property
    def run(self) -> str:
        return self.run_time.astimezone(timezone.utc).strftime(self.layout.run_format)

    def put(self, table_name: str, table: pa.Table, part: int = 0) -> str:
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        key = f"{self.layout.table_prefix(self.run, table_name)}part-{part:05d}.parquet"
        buffer.seek(0)
        self.s3.upload_fileobj(buffer, self.layout.bucket, key)
        return key

    def complete(self) -> str:
        key = self.layout.marker_key(self.run)
        self.s3.put_object(Bucket=self.layout.bucket, Key=key, Body=b"")
        return key


def write_export(s3: Any, layout: DataPipelineSettings, world: World, clock: int | None = None, with_source_objects: bool = True) -> ExportWriter:
    """Deliver the world as of `clock` (default: the world's end) as one complete run, with its
    source objects unless `with_source_objects` is false (a delivery of before them)."""
    clock = world.as_of if clock is None else clock
    writer = ExportWriter(s3, layout, datetime.fromtimestamp(clock, tz=timezone.utc))
    writer.put(BALANCE_TRANSACTIONS, balance_transactions(world, clock))
    writer.put(TRANSFERS, transfers(world, clock))
    writer.put(FEE_DETAILS, fee_details(world, clock))
    if with_source_objects:
        for table, rows in source_object_tables(world, clock).items():
            writer.put(table, rows)
    writer.complete()
    return writer
