"""Data Pipeline exports in a moto S3 server, loaded with boto3 into a real DuckDB file."""

import io
from datetime import datetime, timezone

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ledger import warehouse
from ledger.config import ConfigError
from ledger.sources.data_pipeline import BALANCE_TRANSACTIONS, FEE_DETAILS, TRANSFERS, DataPipelineError, load_newest_run
from ledger.sources.ingest_settings import IngestSettings
from ledger.sources.stripe_api import StripeApiSettings, Window, ingest
from ledger.sources import stripe_records
from sandbox import data_pipeline as delivery
from sandbox import stripe_objects
from sandbox.stripe_api import SandboxStripeServer
from tests.conftest import API_KEY
from tests.s3_fixtures import layout, local_s3  # noqa: F401 - fixtures

DAY = 86_400


def raw_tables(path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return {
            table: connection.execute(f"select * exclude (_source, _loaded_at) from raw.{table} order by all").fetchall()
            for table in warehouse.RAW_TABLES
            if table.startswith("stripe_")  # what the Stripe sources fill; bank tables come from statements
        }


def load(layout, path, **options):
    with warehouse.connect(path) as connection:
        return load_newest_run(layout, connection, **options)


@pytest.mark.parametrize("world_name", ["small_world", "payouts_by_hand_world"])
def test_api_and_data_pipeline_give_identical_raw_tables(world_name, request, layout, tmp_path):
    world = request.getfixturevalue(world_name)
    delivery.write_export(layout.s3_client(), layout, world)
    stats = load(layout, tmp_path / "pipeline.duckdb")
    with SandboxStripeServer(world, API_KEY) as server, warehouse.connect(tmp_path / "api.duckdb") as connection:
        window = Window(datetime.fromtimestamp(world.spec.start_ts, tz=timezone.utc), datetime.fromtimestamp(world.as_of, tz=timezone.utc))
        ingest(StripeApiSettings(api_key=API_KEY, api_base=server.url, max_requests_per_second=500), connection, window, now=window.end)
    from_api, from_pipeline = raw_tables(tmp_path / "api.duckdb"), raw_tables(tmp_path / "pipeline.duckdb")
    assert all(from_api.values())
    assert from_pipeline == from_api
    assert stats.balance_transactions == world.balance_transactions.num_rows
    # The Connect transfer in `transfers` is not a payout.
    assert stats.payouts == world.payouts.num_rows
    with duckdb.connect(str(tmp_path / "pipeline.duckdb"), read_only=True) as connection:
        assert connection.execute("select distinct _source from raw.stripe_balance_transactions").fetchall() == [("data_pipeline",)]
        by_hand = connection.execute(
            "select method, not_itemizable_reason, (select count(*) from raw.stripe_payout_transactions l where l.payout_id = p.id) "
            "from raw.stripe_payouts p where not automatic order by method"
        ).fetchall()
    if world_name == "payouts_by_hand_world":
        assert by_hand == [
            ("instant", "instant payout: Stripe does not itemize instant payouts", 0),
            ("standard", "manual payout: Stripe does not know which transactions it paid out", 0),
        ]
    else:
        assert by_hand == []


def test_the_newest_complete_run_is_loaded_and_incomplete_ones_wait(small_world, layout, tmp_path):
    failed = next(p for p in small_world.payouts.to_pylist() if p["failure_balance_transaction"])
    s3 = layout.s3_client()
    delivery.write_export(s3, layout, small_world, clock=failed["failed_at"] - 1)
    path = tmp_path / "warehouse.duckdb"
    first = load(layout, path)
    assert first.loaded and first.run_time == datetime.fromtimestamp(failed["failed_at"] - 1, tz=timezone.utc)
    # A later delivery still being written (no SUCCESS marker yet) is not touched.
    later = delivery.ExportWriter(s3, layout, datetime.fromtimestamp(small_world.as_of, tz=timezone.utc))
    later.put(BALANCE_TRANSACTIONS, delivery.balance_transactions(small_world, small_world.as_of))
    assert load(layout, path).loaded is False
    later.put(TRANSFERS, delivery.transfers(small_world, small_world.as_of))
    later.put(FEE_DETAILS, delivery.fee_details(small_world, small_world.as_of))
    later.complete()
    second = load(layout, path)
    assert second.loaded and second.run == later.run
    with duckdb.connect(str(path), read_only=True) as connection:
        status, failure = connection.execute("select status, failure_balance_transaction_id from raw.stripe_payouts where id = ?", [failed["id"]]).fetchone()
        assert (status, failure) == ("failed", failed["failure_balance_transaction"])
        assert connection.execute("select type, amount from raw.stripe_balance_transactions where id = ?", [failure]).fetchone() == ("payout_failure", failed["amount"])
        assert connection.execute("select count(*) from raw.stripe_balance_transactions").fetchone()[0] == small_world.balance_transactions.num_rows


def test_runs_of_the_other_mode_are_ignored(small_world, layout, tmp_path):
    live = type(layout)(uri=layout.uri, mode="livemode", endpoint_url=layout.endpoint_url)
    delivery.write_export(layout.s3_client(), layout, small_world)
    with pytest.raises(DataPipelineError, match="no complete Data Pipeline run under s3://stripe-exports-.*/stripe/: no key matches '<run>/livemode/coreapi_SUCCESS'"):
        load(live, tmp_path / "warehouse.duckdb")


def replace_object(layout, table, transform) -> str:
    """Rewrite the single part of `table` in the newest run through `transform(bytes) -> bytes`."""
    s3 = layout.s3_client()
    # Run folders sort by time: the last key of the table is in the newest run.
    key = max(item["Key"] for item in s3.list_objects_v2(Bucket=layout.bucket, Prefix=layout.prefix)["Contents"] if f"/{table}/" in item["Key"])
    body = s3.get_object(Bucket=layout.bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=layout.bucket, Key=key, Body=transform(body))
    return f"s3://{layout.bucket}/{key}"


def without_column(column):
    def transform(body: bytes) -> bytes:
        table = pq.read_table(io.BytesIO(body))
        out = io.BytesIO()
        pq.write_table(table.drop_columns([column]), out)
        return out.getvalue()
    return transform


@pytest.fixture
def loaded_once(small_world, layout, tmp_path):
    """A warehouse holding an earlier complete run, and a newer delivery to spoil."""
    s3 = layout.s3_client()
    delivery.write_export(s3, layout, small_world, clock=small_world.as_of - 3 * DAY)
    path = tmp_path / "warehouse.duckdb"
    load(layout, path)
    with warehouse.connect(path) as connection:
        cursor = warehouse.read_cursor(connection, "data_pipeline")
    delivery.write_export(s3, layout, small_world)
    return path, raw_tables(path), cursor


@pytest.mark.parametrize(("table", "column"), [(BALANCE_TRANSACTIONS, "net"), (TRANSFERS, "date"), (FEE_DETAILS, "balance_transaction_id")])
def test_a_missing_required_column_names_table_and_column_and_changes_nothing(loaded_once, layout, table, column):
    path, before, cursor = loaded_once
    uri = replace_object(layout, table, without_column(column))
    with pytest.raises(DataPipelineError, match=f"table {table}: {uri} lacks required column '{column}'"):
        load(layout, path)
    assert raw_tables(path) == before
    with warehouse.connect(path) as connection:
        assert warehouse.read_cursor(connection, "data_pipeline") == cursor


def test_extra_and_missing_optional_columns_are_fine(small_world, layout, tmp_path):
    delivery.write_export(layout.s3_client(), layout, small_world)
    replace_object(layout, BALANCE_TRANSACTIONS, without_column("balance_type"))
    stats = load(layout, tmp_path / "warehouse.duckdb")
    assert stats.balance_transactions == small_world.balance_transactions.num_rows
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as connection:
        assert connection.execute("select count(*) from raw.stripe_balance_transactions where balance_type is not null").fetchone() == (0,)


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda body: b"this is not parquet", id="not-parquet"),
        pytest.param(lambda body: body[: len(body) // 2], id="truncated"),
        # Footer intact, data pages scrambled: found only when DuckDB reads the rows.
        pytest.param(lambda body: body[:4] + bytes(b ^ 0x5A for b in body[4:len(body) // 2]) + body[len(body) // 2:], id="scrambled-pages"),
    ],
)
def test_a_corrupt_object_names_its_key_and_changes_nothing(loaded_once, layout, spoil):
    path, before, _ = loaded_once
    uri = replace_object(layout, BALANCE_TRANSACTIONS, spoil)
    with pytest.raises(DataPipelineError, match=uri):
        load(layout, path)
    assert raw_tables(path) == before


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"CLOSE_SOURCE": "data_pipeline"}, "CLOSE_DATA_PIPELINE_URI is not set"),
        ({"CLOSE_SOURCE": "data_pipeline", "CLOSE_DATA_PIPELINE_URI": "https://bucket/prefix"}, "not an s3://bucket/prefix URI .*CLOSE_DATA_PIPELINE_URI"),
        ({"CLOSE_SOURCE": "data_pipeline", "CLOSE_DATA_PIPELINE_URI": "s3://bucket-a/x", "CLOSE_DATA_PIPELINE_MODE": "live"}, "mode 'live' is not one of"),
        ({"CLOSE_SOURCE": "data_pipeline", "CLOSE_DATA_PIPELINE_URI": "s3://bucket-a/x", "CLOSE_DATA_PIPELINE_TABLE_TEMPLATE": "{mode}/"}, "lacks {run}, {table}"),
        ({"CLOSE_SOURCE": "s3"}, "CLOSE_SOURCE='s3' is not one of"),
        ({"STRIPE_MAX_REQUESTS_PER_SECOND": "fast"}, "STRIPE_MAX_REQUESTS_PER_SECOND='fast' is not a number"),
        ({"STRIPE_INGEST_WORKERS": "0"}, "STRIPE_INGEST_WORKERS='0' must be at least 1"),
        ({"STRIPE_INGEST_OVERLAP_SECONDS": "-5"}, "STRIPE_INGEST_OVERLAP_SECONDS='-5' must be at least 0"),
    ],
)
def test_bad_configuration_names_the_variable(environment, message):
    with pytest.raises(ConfigError, match=message):
        IngestSettings.from_env(environment)


def test_configuration_from_the_environment():
    settings = IngestSettings.from_env({
        "CLOSE_SOURCE": "data_pipeline", "CLOSE_DATA_PIPELINE_URI": "s3://acme-stripe/exports", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        "STRIPE_MAX_REQUESTS_PER_SECOND": "100", "STRIPE_INGEST_OVERLAP_SECONDS": "900", "STRIPE_API_KEY": "rk_live_secret",
    })
    assert settings.data_pipeline.bucket == "acme-stripe" and settings.data_pipeline.prefix == "exports/"
    assert settings.data_pipeline.endpoint_url == "http://127.0.0.1:9000"
    assert (settings.api.max_requests_per_second, settings.api.overlap_seconds) == (100.0, 900)
    assert "rk_live_secret" not in repr(settings)


def test_a_delivery_holding_an_id_twice_is_refused_and_changes_nothing(loaded_once, layout):
    path, before, _ = loaded_once

    def doubled(body: bytes) -> bytes:
        table = pq.read_table(io.BytesIO(body))
        out = io.BytesIO()
        pq.write_table(pa.concat_tables([table, table.slice(0, 1)]), out)
        return out.getvalue()

    replace_object(layout, BALANCE_TRANSACTIONS, doubled)
    with pytest.raises(DataPipelineError, match="more than once in balance_transactions"):
        load(layout, path)
    assert raw_tables(path) == before


def test_a_newer_delivery_replaces_the_older_and_keeps_newer_api_rows(small_world, layout, tmp_path):
    s3 = layout.s3_client()
    delivery.write_export(s3, layout, small_world, clock=small_world.as_of - 2 * DAY)
    path = tmp_path / "warehouse.duckdb"
    load(layout, path)
    # The API has meanwhile landed the last two days, beyond what the next delivery holds.
    recent = [stripe_objects.balance_transaction(row, small_world.as_of) for row in small_world.balance_transactions.to_pylist()
              if row["created"] > small_world.as_of - 2 * DAY]
    transactions, fees = stripe_records.balance_transaction_rows(recent, "api", datetime(2026, 11, 1))
    with warehouse.connect(path) as connection:
        warehouse.upsert_tables(connection, {"stripe_balance_transactions": transactions, "stripe_fee_details": fees})
    clock = small_world.as_of - DAY
    delivery.write_export(s3, layout, small_world, clock=clock)
    load(layout, path)
    with duckdb.connect(str(path), read_only=True) as connection:
        rows = {row[0]: row[1:] for row in connection.execute("select id, status, _source from raw.stripe_balance_transactions").fetchall()}
        fee_sources = dict(connection.execute("select _source, count(*) from raw.stripe_fee_details group by all").fetchall())
    world = {row["id"]: row for row in small_world.balance_transactions.to_pylist()}
    assert set(rows) == set(world)
    for txn_id, (status, source) in rows.items():
        if world[txn_id]["created"] <= clock:
            assert (status, source) == ("available" if world[txn_id]["available_on"] <= clock else "pending", "data_pipeline")
        else:
            assert source == "api"
    newer_fees = sum(len(stripe_objects.fee_details(row)) for row in world.values() if row["created"] > clock)
    assert fee_sources["api"] == newer_fees > 0


def test_a_corrupt_transfers_object_names_its_key(loaded_once, layout):
    path, before, _ = loaded_once
    uri = replace_object(layout, TRANSFERS, lambda body: body[:4] + bytes(b ^ 0x5A for b in body[4:len(body) // 2]) + body[len(body) // 2:])
    with pytest.raises(DataPipelineError, match=uri):
        load(layout, path)
    assert raw_tables(path) == before


def delivery_folders(path) -> list[str]:
    return sorted(folder.name for folder in path.with_name(path.name + ".data_pipeline").iterdir())


def test_the_delivery_is_read_in_place_and_only_the_loaded_one_is_kept(small_world, layout, tmp_path):
    s3 = layout.s3_client()
    path = tmp_path / "warehouse.duckdb"
    delivery.write_export(s3, layout, small_world, clock=small_world.as_of - 3 * DAY)
    load(layout, path)
    [first] = delivery_folders(path)
    delivery.write_export(s3, layout, small_world)
    load(layout, path)
    [second] = delivery_folders(path)
    newest_run = datetime.fromtimestamp(small_world.as_of, tz=timezone.utc).strftime(layout.run_format)
    assert first != second and second.startswith(f"{newest_run}-")
    with duckdb.connect(str(path), read_only=True) as connection:
        # Nothing of the delivery is copied into the file: the landed tables are empty, the views read the parquet.
        for table in warehouse.DELIVERED_TABLES:
            assert connection.execute(f"select count(*) from raw.{table}_landed").fetchone() == (0,)
        [(definition,)] = connection.execute("select sql from duckdb_views() where view_name = 'stripe_balance_transactions_delivered'").fetchall()
        assert f"{second}/{BALANCE_TRANSACTIONS}/000000.parquet" in definition
        assert connection.execute("select count(*) from raw.stripe_balance_transactions").fetchone()[0] == small_world.balance_transactions.num_rows


def test_a_failed_load_leaves_the_loaded_delivery_and_no_new_files(loaded_once, layout):
    path, before, _ = loaded_once
    kept = delivery_folders(path)
    replace_object(layout, FEE_DETAILS, lambda body: b"this is not parquet")
    with pytest.raises(DataPipelineError, match="is not a readable parquet file"):
        load(layout, path)
    assert delivery_folders(path) == kept and len(kept) == 1
    assert raw_tables(path) == before


def test_a_warehouse_with_the_tables_of_before_keeps_its_rows(small_world, tmp_path):
    """Warehouses created before deliveries were read in place hold plain tables; they become the landed part."""
    path = tmp_path / "old.duckdb"
    transactions, fees = stripe_records.balance_transaction_rows(
        [stripe_objects.balance_transaction(row, small_world.as_of) for row in small_world.balance_transactions.to_pylist()[:5]], "api", datetime(2026, 11, 1)
    )
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema raw")
        connection.execute(f"create table raw.stripe_balance_transactions ({warehouse.RAW_TABLES['stripe_balance_transactions']})")
        connection.register("rows", transactions)
        connection.execute("insert into raw.stripe_balance_transactions by name select * from rows")
    with warehouse.connect(path) as connection:
        ids = [row[0] for row in connection.execute("select id from raw.stripe_balance_transactions order by id").fetchall()]
        assert ids == sorted(transactions.column("id").to_pylist()) and len(ids) == 5
        assert connection.execute("select count(*) from raw.stripe_balance_transactions_landed").fetchone() == (5,)
