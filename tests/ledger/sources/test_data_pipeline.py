"""Data Pipeline exports in a moto S3 server, loaded with boto3 into a real DuckDB file."""

import dataclasses
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from ledger import progress, warehouse
from ledger.config import ConfigError
from ledger.sources.data_pipeline import BALANCE_TRANSACTIONS, FEE_DETAILS, TRANSFERS, DataPipelineError, load_newest_run
from ledger.sources.ingest_settings import IngestSettings
from ledger.sources.stripe_api import StripeApiSettings, Window, ingest
from ledger.sources import stripe_records
from sandbox import data_pipeline as delivery
from sandbox import stripe_objects
from sandbox.merchant import simulate
from sandbox.sales import sales
from sandbox.stripe_api import SandboxStripeServer
from orchestration.progress import PeriodicLines
from orchestration.wording import counted
from tests.conftest import API_KEY, SMALL_WORLD
from tests.s3_fixtures import layout, local_s3, replace_object, rewritten, with_column, without_column  # noqa: F401 - fixtures

DAY = 86_400
STRIPE_CLOSE = str(Path(sys.executable).with_name("stripe-close"))


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


@pytest.fixture(scope="module")
def connect_transfers_world():
    """The small world with Connect transfers, which the Data Pipeline keeps in `transfers` beside the payouts."""
    return simulate(dataclasses.replace(SMALL_WORLD, connect_transfers=True))


@pytest.mark.parametrize("world_name", ["small_world", "payouts_by_hand_world", "connect_transfers_world"])
def test_api_and_data_pipeline_give_identical_raw_tables(world_name, request, layout, tmp_path):
    world = request.getfixturevalue(world_name)
    delivery.write_export(layout.s3_client(), layout, world)
    stats = load(layout, tmp_path / "pipeline.duckdb")
    with SandboxStripeServer(world, API_KEY) as server, warehouse.connect(tmp_path / "api.duckdb") as connection:
        window = Window(datetime.fromtimestamp(world.spec.start_ts, tz=timezone.utc), datetime.fromtimestamp(world.as_of, tz=timezone.utc))
        ingest(StripeApiSettings(api_key=API_KEY, api_base=server.url, max_requests_per_second=500), connection, window, now=window.end)
    from_api, from_pipeline = raw_tables(tmp_path / "api.duckdb"), raw_tables(tmp_path / "pipeline.duckdb")
    assert all(rows for table, rows in from_api.items() if table != "stripe_transfers")
    assert len(from_api["stripe_transfers"]) == len(sales(world).transfers) == (2 if world_name == "connect_transfers_world" else 0)
    assert len(from_api["stripe_tax_transactions"]) == len(sales(world).tax_transactions)
    # The reversals of refunds' tax land in the same table as the sales' transactions, from both sources.
    reversals = sorted(t["id"] for t in sales(world).tax_transactions if t["type"] == "reversal")
    assert sorted(row[0] for row in from_api["stripe_tax_transactions"] if row[1] == "reversal") == reversals and reversals
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


def delivery_folders(path) -> list[str]:
    return sorted(folder.name for folder in path.with_name(path.name + ".data_pipeline").iterdir())


def balance_totals(path) -> tuple[int, int, int, int]:
    """Count and sums of amount, fee and net, read through the raw view as every reader does."""
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute("select count(*), sum(amount), sum(fee), sum(net) from raw.stripe_balance_transactions").fetchone()


@dataclass(frozen=True)
class LoadedDelivery:
    """A warehouse holding a complete run; what it holds, to show a refused delivery changed nothing."""

    path: Path
    before: dict[str, list[tuple]]
    cursor: datetime
    folders: list[str]
    totals: tuple[int, int, int, int]

    def assert_kept(self) -> None:
        """The loaded delivery is whole: its files, its rows (snapshot and payouts too), its cursor and its money."""
        assert delivery_folders(self.path) == self.folders
        assert balance_totals(self.path) == self.totals
        assert raw_tables(self.path) == self.before
        with warehouse.connect(self.path) as connection:
            assert warehouse.read_cursor(connection, "data_pipeline") == self.cursor


@pytest.fixture
def loaded_once(small_world, layout, tmp_path) -> LoadedDelivery:
    """A warehouse holding an earlier complete run, and a newer delivery to spoil."""
    s3 = layout.s3_client()
    clock = small_world.as_of - 3 * DAY
    delivery.write_export(s3, layout, small_world, clock=clock)
    path = tmp_path / "warehouse.duckdb"
    load(layout, path)
    with warehouse.connect(path) as connection:
        cursor = warehouse.read_cursor(connection, "data_pipeline")
    delivered = [row for row in small_world.balance_transactions.to_pylist() if row["created"] <= clock]
    totals = (len(delivered), *(sum(row[column] for row in delivered) for column in ("amount", "fee", "net")))
    assert balance_totals(path) == totals and len(delivery_folders(path)) == 1
    delivery.write_export(s3, layout, small_world)
    return LoadedDelivery(path, raw_tables(path), cursor, delivery_folders(path), totals)


@pytest.mark.parametrize(("table", "column"), [(BALANCE_TRANSACTIONS, "net"), (TRANSFERS, "date"), (FEE_DETAILS, "balance_transaction_id")])
def test_a_missing_required_column_names_table_and_column_and_changes_nothing(loaded_once, layout, table, column):
    uri = replace_object(layout, table, without_column(column))
    with pytest.raises(DataPipelineError, match=f"table {table}: {uri} lacks required column '{column}'"):
        load(layout, loaded_once.path)
    loaded_once.assert_kept()


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
    uri = replace_object(layout, BALANCE_TRANSACTIONS, spoil)
    with pytest.raises(DataPipelineError, match=uri):
        load(layout, loaded_once.path)
    loaded_once.assert_kept()


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
        ({"STRIPE_ACCOUNT_IDS": "acct_1A, 1B"}, "STRIPE_ACCOUNT_IDS: '1B' is not a Stripe account id"),
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
    assert settings.api.accounts == ()
    assert IngestSettings.from_env({"STRIPE_ACCOUNT_IDS": " acct_1A,acct_1B,,acct_1A "}).api.accounts == ("acct_1A", "acct_1B")
    assert "rk_live_secret" not in repr(settings)


def test_a_delivery_holding_an_id_twice_is_refused_and_changes_nothing(loaded_once, layout):
    replace_object(layout, BALANCE_TRANSACTIONS, rewritten(lambda table: pa.concat_tables([table, table.slice(0, 1)])))
    with pytest.raises(DataPipelineError, match="more than once in balance_transactions"):
        load(layout, loaded_once.path)
    loaded_once.assert_kept()


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
    uri = replace_object(layout, TRANSFERS, lambda body: body[:4] + bytes(b ^ 0x5A for b in body[4:len(body) // 2]) + body[len(body) // 2:])
    with pytest.raises(DataPipelineError, match=uri):
        load(layout, loaded_once.path)
    loaded_once.assert_kept()


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
    replace_object(layout, FEE_DETAILS, lambda body: b"this is not parquet")
    with pytest.raises(DataPipelineError, match="is not a readable parquet file"):
        load(layout, loaded_once.path)
    loaded_once.assert_kept()


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


# Wrongly typed columns: checked against the raw tables' types before anything moves.

def newest_run(world, layout) -> str:
    return datetime.fromtimestamp(world.as_of, tz=timezone.utc).strftime(layout.run_format)


def refused_prefix(world, layout) -> str:
    return f"Data Pipeline run {newest_run(world, layout)} is refused and the warehouse left as it was: "


def text_with(position: int, bad: str | None):
    """Amounts as text, with the value at `position` replaced by `bad`."""
    def values(column: pa.ChunkedArray) -> pa.Array:
        texts = [str(value) for value in column.to_pylist()]
        texts[position] = bad
        return pa.array(texts, pa.string())
    return values


@pytest.mark.parametrize("bad", ["33,120", "331.20", "", "abc"])
def test_a_text_amount_with_a_bad_value_is_refused_naming_it_and_the_loaded_delivery_is_kept(loaded_once, small_world, layout, bad):
    rows = small_world.balance_transactions.num_rows
    bad_id = small_world.balance_transactions.column("id")[5].as_py()
    uri = replace_object(layout, BALANCE_TRANSACTIONS, with_column("amount", text_with(5, bad)))
    with pytest.raises(DataPipelineError) as refused:
        load(layout, loaded_once.path)
    assert str(refused.value) == refused_prefix(small_world, layout) + (
        f"table balance_transactions, column amount: 1 of {rows} values cannot be read as BIGINT (not null), "
        f"the first {bad!r} in row 6 (id {bad_id}) of {uri}"
    )
    loaded_once.assert_kept()


def test_failed_casts_are_counted_per_column_and_a_null_in_a_required_column_is_one(loaded_once, small_world, layout):
    rows = small_world.balance_transactions.num_rows
    ids = small_world.balance_transactions.column("id").to_pylist()

    def spoiled(table: pa.Table) -> pa.Table:
        amounts = [str(value) for value in table.column("amount").to_pylist()]
        amounts[2] = amounts[9] = "n/a"
        nets = table.column("net").to_pylist()
        nets[4] = None
        return (table.set_column(table.schema.get_field_index("amount"), "amount", pa.array(amounts, pa.string()))
                     .set_column(table.schema.get_field_index("net"), "net", pa.array(nets, pa.int64())))

    uri = replace_object(layout, BALANCE_TRANSACTIONS, rewritten(spoiled))
    with pytest.raises(DataPipelineError) as refused:
        load(layout, loaded_once.path)
    assert str(refused.value) == refused_prefix(small_world, layout) + (
        f"table balance_transactions, column amount: 2 of {rows} values cannot be read as BIGINT (not null), the first 'n/a' in row 3 (id {ids[2]}) of {uri}; "
        f"table balance_transactions, column net: 1 of {rows} values cannot be read as BIGINT (not null), the first null in row 5 (id {ids[4]}) of {uri}"
    )
    loaded_once.assert_kept()


FLOAT_REFUSAL = "which takes an integer type, never a float even when whole (amounts are integer minor units: 33120 for 331.20)"


@pytest.mark.parametrize(
    ("table", "values", "stored"),
    [
        pytest.param(BALANCE_TRANSACTIONS, lambda column: pa.array([value / 100 for value in column.to_pylist()], pa.float64()), "double", id="major-units"),
        pytest.param(BALANCE_TRANSACTIONS, lambda column: column.cast(pa.float64()), "double", id="whole-floats"),
        pytest.param(BALANCE_TRANSACTIONS, lambda column: column.cast(pa.float32()), "float", id="float32"),
        pytest.param(TRANSFERS, lambda column: column.cast(pa.float64()), "double", id="transfers"),
        pytest.param(FEE_DETAILS, lambda column: pa.array([Decimal(value).scaleb(-2) for value in column.to_pylist()], pa.decimal128(12, 2)),
                     "decimal128(12, 2)", id="fee-details-decimal-major-units"),
    ],
)
def test_a_float_amount_is_refused_naming_the_column_and_the_integer_type(loaded_once, small_world, layout, table, values, stored):
    uri = replace_object(layout, table, with_column("amount", values))
    with pytest.raises(DataPipelineError) as refused:
        load(layout, loaded_once.path)
    assert str(refused.value) == refused_prefix(small_world, layout) + (
        f"table {table}, column amount: {uri} stores {stored}, but it lands as BIGINT, {FLOAT_REFUSAL}"
    )
    loaded_once.assert_kept()


def test_a_column_of_a_kind_that_cannot_land_is_refused(loaded_once, small_world, layout):
    uri = replace_object(layout, BALANCE_TRANSACTIONS, with_column("currency", lambda column: pa.array(range(len(column)), pa.int64())))
    with pytest.raises(DataPipelineError) as refused:
        load(layout, loaded_once.path)
    assert str(refused.value) == refused_prefix(small_world, layout) + (
        f"table balance_transactions, column currency: {uri} stores int64, but it lands as VARCHAR, which takes text"
    )
    loaded_once.assert_kept()


def test_text_amounts_of_plain_digits_and_text_times_load_exactly(small_world, layout, tmp_path):
    delivery.write_export(layout.s3_client(), layout, small_world)
    replace_object(layout, BALANCE_TRANSACTIONS, rewritten(lambda table: table
        .set_column(table.schema.get_field_index("amount"), "amount", table.column("amount").cast(pa.string()))
        .set_column(table.schema.get_field_index("created"), "created", pa.array(
            [value.strftime("%Y-%m-%d %H:%M:%S") for value in table.column("created").to_pylist()], pa.string()))))
    path = tmp_path / "warehouse.duckdb"
    load(layout, path)
    world = small_world.balance_transactions.to_pylist()
    assert balance_totals(path) == (len(world), *(sum(row[column] for row in world) for column in ("amount", "fee", "net")))
    with duckdb.connect(str(path), read_only=True) as connection:
        created = dict(connection.execute("select id, epoch(created)::bigint from raw.stripe_balance_transactions").fetchall())
    assert created == {row["id"]: row["created"] for row in world}


def test_parts_of_one_table_storing_a_column_differently_are_refused(small_world, layout, tmp_path):
    s3 = layout.s3_client()
    writer = delivery.ExportWriter(s3, layout, datetime.fromtimestamp(small_world.as_of, tz=timezone.utc))
    transactions = delivery.balance_transactions(small_world, small_world.as_of)
    half = transactions.num_rows // 2
    first = writer.put(BALANCE_TRANSACTIONS, transactions.slice(0, half), part=0)
    later = transactions.slice(half)
    epoch_seconds = later.column("created").cast(pa.int64())
    second = writer.put(BALANCE_TRANSACTIONS, later.set_column(later.schema.get_field_index("created"), "created", epoch_seconds), part=1)
    writer.put(TRANSFERS, delivery.transfers(small_world, small_world.as_of))
    writer.put(FEE_DETAILS, delivery.fee_details(small_world, small_world.as_of))
    writer.complete()
    with pytest.raises(DataPipelineError) as refused:
        load(layout, tmp_path / "warehouse.duckdb")
    assert str(refused.value) == refused_prefix(small_world, layout) + (
        f"table balance_transactions, column created: s3://{layout.bucket}/{first} stores timestamp[ms, tz=UTC] "
        f"and s3://{layout.bucket}/{second} stores int64; every part of a table must store a column alike"
    )


def test_parts_storing_a_column_as_a_dictionary_or_plain_load_alike(small_world, layout, tmp_path):
    writer = delivery.ExportWriter(layout.s3_client(), layout, datetime.fromtimestamp(small_world.as_of, tz=timezone.utc))
    transactions = delivery.balance_transactions(small_world, small_world.as_of)
    half = transactions.num_rows // 2
    writer.put(BALANCE_TRANSACTIONS, transactions.slice(0, half), part=0)
    later = transactions.slice(half)
    position = later.schema.get_field_index("currency")
    writer.put(BALANCE_TRANSACTIONS, later.set_column(position, "currency", later.column("currency").dictionary_encode()), part=1)
    writer.put(TRANSFERS, delivery.transfers(small_world, small_world.as_of))
    writer.put(FEE_DETAILS, delivery.fee_details(small_world, small_world.as_of))
    writer.complete()
    path = tmp_path / "warehouse.duckdb"
    load(layout, path)
    world = small_world.balance_transactions.to_pylist()
    assert balance_totals(path) == (len(world), *(sum(row[column] for row in world) for column in ("amount", "fee", "net")))


def test_a_clean_delivery_after_a_refused_one_loads(loaded_once, small_world, layout):
    replace_object(layout, BALANCE_TRANSACTIONS, with_column("amount", text_with(0, "oops")))
    with pytest.raises(DataPipelineError):
        load(layout, loaded_once.path)
    loaded_once.assert_kept()
    later = delivery.write_export(layout.s3_client(), layout, small_world, clock=small_world.as_of + 6 * 3600)
    stats = load(layout, loaded_once.path)
    world = small_world.balance_transactions.to_pylist()
    assert stats.loaded and stats.run == later.run and stats.balance_transactions == len(world)
    assert balance_totals(loaded_once.path) == (len(world), *(sum(row[column] for row in world) for column in ("amount", "fee", "net")))
    [folder] = delivery_folders(loaded_once.path)
    assert folder.startswith(f"{later.run}-")
    with warehouse.connect(loaded_once.path) as connection:
        assert warehouse.read_cursor(connection, "data_pipeline") == later.run_time.replace(tzinfo=None)


def test_a_refused_delivery_is_one_line_on_the_command_line(loaded_once, small_world, layout):
    uri = replace_object(layout, BALANCE_TRANSACTIONS, with_column("amount", text_with(5, "33,120")))
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("CLOSE_", "STRIPE_", "DAGSTER_"))},
        "CLOSE_SOURCE": "data_pipeline", "CLOSE_WAREHOUSE": str(loaded_once.path), "CLOSE_DATA_PIPELINE_URI": layout.uri,
        "CLOSE_DATA_PIPELINE_MODE": layout.mode, "AWS_ENDPOINT_URL": layout.endpoint_url,
    }
    result = subprocess.run([STRIPE_CLOSE, "ingest"], env=environment, capture_output=True, text=True, timeout=300, cwd=loaded_once.path.parent)
    assert result.returncode == 1
    assert result.stdout == ""
    # Progress lines (which files were checked) come first; the refusal is one line.
    [line] = [line for line in result.stderr.splitlines() if line.startswith("ingest stopped: ")]
    assert "Traceback" not in result.stderr
    assert line.startswith("ingest stopped: " + refused_prefix(small_world, layout) + "table balance_transactions, column amount: 1 of ")
    assert line.endswith(f"the first '33,120' in row 6 (id {small_world.balance_transactions.column('id')[5].as_py()}) of {uri}")
    loaded_once.assert_kept()


def test_a_text_time_with_an_offset_other_than_utc_is_refused(loaded_once, small_world, layout):
    """DuckDB's cast to TIMESTAMP drops the offset: 10:00+02:00 would land as 10:00 UTC, two hours late."""
    ids = small_world.balance_transactions.column("id").to_pylist()

    def times(column: pa.ChunkedArray) -> pa.Array:
        texts = [value.strftime("%Y-%m-%dT%H:%M:%SZ") for value in column.to_pylist()]
        texts[1] = texts[1].replace("Z", "+00:00")  # UTC, spelled as an offset: fine
        texts[3] = texts[3].replace("Z", "+02:00")
        return pa.array(texts, pa.string())

    uri = replace_object(layout, BALANCE_TRANSACTIONS, with_column("created", times))
    with pytest.raises(DataPipelineError) as refused:
        load(layout, loaded_once.path)
    created = small_world.balance_transactions.column("created")[3].as_py()
    shown = datetime.fromtimestamp(created, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    assert str(refused.value) == refused_prefix(small_world, layout) + (
        f"table balance_transactions, column created: 1 of {small_world.balance_transactions.num_rows} values cannot be read as "
        f"TIMESTAMP (not null), the first {shown!r} in row 4 (id {ids[3]}) of {uri}"
    )
    loaded_once.assert_kept()


def test_payout_flags_delivered_as_text_land_as_booleans(payouts_by_hand_world, layout, tmp_path):
    """'false' is a true value to Python: the flag must go through the checked cast, not `bool()`."""
    delivery.write_export(layout.s3_client(), layout, payouts_by_hand_world)
    replace_object(layout, TRANSFERS, with_column("automatic", lambda column: pa.array([str(value).lower() for value in column.to_pylist()], pa.string())))
    load(layout, tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as connection:
        automatic = dict(connection.execute("select id, automatic from raw.stripe_payouts").fetchall())
    assert automatic == {row["id"]: row["automatic"] for row in payouts_by_hand_world.payouts.to_pylist()}
    assert list(automatic.values()).count(False) == 2


def test_a_load_reports_each_table_files_checked_of_all_and_its_rows(small_world, layout, tmp_path):
    """What the command line shows while a delivery loads (orchestration/progress.py): per table, parts n/N and rows."""
    delivery.write_export(layout.s3_client(), layout, small_world)
    stream = io.StringIO()
    with progress.listening(PeriodicLines(stream)):
        stats = load(layout, tmp_path / "warehouse.duckdb")
    parts = {table: len(delivery_folder_parts(layout, stats.run, table)) for table in (BALANCE_TRANSACTIONS, FEE_DETAILS, TRANSFERS)}
    lines = stream.getvalue().splitlines()
    for table, rows in ((BALANCE_TRANSACTIONS, stats.balance_transactions), (FEE_DETAILS, stats.fee_details), (TRANSFERS, None)):
        done = f"Data Pipeline {table}: {parts[table]}/{counted(parts[table], 'file')}, "
        assert any(line.startswith(done) and line.endswith(" rows done") for line in lines), lines
        if rows is not None:
            assert f"{done}{rows:,} rows done" in lines


def delivery_folder_parts(layout, run: str, table: str) -> list[str]:
    listed = layout.s3_client().list_objects_v2(Bucket=layout.bucket, Prefix=layout.table_prefix(run, table))
    return [item["Key"] for item in listed.get("Contents", []) if item["Key"].endswith(".parquet")]
