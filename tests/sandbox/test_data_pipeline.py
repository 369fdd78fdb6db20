"""The sandbox's Stripe Data Pipeline deliveries, read back from the moto S3 server with boto3."""

import dataclasses
import io

import pyarrow.parquet as pq

from ledger.sources import source_tables
from sandbox import data_pipeline as delivery
from sandbox import stripe_objects
from sandbox.merchant import simulate
from sandbox.sales import sales
from tests.conftest import SMALL_WORLD
from tests.s3_fixtures import layout, local_s3  # noqa: F401 - fixtures

DAY = 86_400


def read_table(s3, layout, key):
    return pq.read_table(io.BytesIO(s3.get_object(Bucket=layout.bucket, Key=key)["Body"].read()))


def test_a_delivery_has_every_table_then_its_success_marker(small_world, layout):
    s3 = layout.s3_client()
    writer = delivery.write_export(s3, layout, small_world)
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=layout.bucket)["Contents"]]
    run = writer.run
    assert sorted(keys) == sorted([
        f"stripe/{run}/testmode/balance_transactions/part-00000.parquet",
        f"stripe/{run}/testmode/transfers/part-00000.parquet",
        f"stripe/{run}/testmode/balance_transaction_fee_details/part-00000.parquet",
        # Connect transfers share `transfers` with the payouts.
        *(f"stripe/{run}/testmode/{name}/part-00000.parquet" for name in {table.delivered_name for table in source_tables.TABLES} - {"transfers"}),
        f"stripe/{run}/testmode/coreapi_SUCCESS",
    ])
    assert run == "20261013T000000Z"
    transactions = read_table(s3, layout, f"stripe/{run}/testmode/balance_transactions/part-00000.parquet")
    assert transactions.num_rows == small_world.balance_transactions.num_rows
    assert transactions.schema.field("created").type.tz == "UTC"
    assert sum(transactions.column("net").to_pylist()) == sum(small_world.balance_transactions.column("net").to_pylist())
    world_payouts = {row["id"]: row["automatic_payout_id"] for row in small_world.balance_transactions.to_pylist()}
    assert dict(zip(transactions.column("id").to_pylist(), transactions.column("automatic_transfer_id").to_pylist())) == world_payouts


def test_transfers_hold_payouts_at_the_run_time_and_the_connect_transfers(layout):
    world = simulate(dataclasses.replace(SMALL_WORLD, connect_transfers=True))
    failed = next(p for p in world.payouts.to_pylist() if p["failure_balance_transaction"])
    s3 = layout.s3_client()
    before = delivery.write_export(s3, layout, world, clock=failed["failed_at"] - 1)
    transfers = read_table(s3, layout, f"stripe/{before.run}/testmode/transfers/part-00000.parquet").to_pylist()
    by_id = {row["id"]: row for row in transfers}
    assert by_id[failed["id"]]["status"] == "paid" and by_id[failed["id"]]["failure_balance_transaction_id"] is None
    connect = [row for row in transfers if row["type"] == "stripe_account"]
    assert {(row["id"], row["amount"], row["destination_id"], row["balance_transaction_id"]) for row in connect} == {
        (t["id"], t["amount"], t["destination"], t["balance_transaction"]) for t in sales(world).transfers if t["created"] < failed["failed_at"]}
    assert connect
    after = delivery.write_export(s3, layout, world)
    transfers = read_table(s3, layout, f"stripe/{after.run}/testmode/transfers/part-00000.parquet").to_pylist()
    failed_now = next(row for row in transfers if row["id"] == failed["id"])
    assert (failed_now["status"], failed_now["failure_balance_transaction_id"]) == ("failed", failed["failure_balance_transaction"])
    assert int(failed_now["date"].timestamp()) == failed["arrival_date"]


def test_fee_details_follow_the_transactions_seen_at_the_run_time(small_world, layout):
    s3 = layout.s3_client()
    clock = small_world.spec.start_ts + 3 * DAY
    writer = delivery.write_export(s3, layout, small_world, clock=clock)
    fees = read_table(s3, layout, f"stripe/{writer.run}/testmode/balance_transaction_fee_details/part-00000.parquet").to_pylist()
    expected = {
        (row["id"], index): (detail["amount"], detail["type"], detail["application"])
        for row in small_world.balance_transactions.to_pylist() if row["created"] <= clock
        for index, detail in enumerate(stripe_objects.fee_details(row))
    }
    assert len({key for key in expected if key[1] > 0}) > 0, "some charges carry an application fee or tax"
    assert {(row["balance_transaction_id"], row["index"]): (row["amount"], row["type"], row["application"]) for row in fees} == expected
