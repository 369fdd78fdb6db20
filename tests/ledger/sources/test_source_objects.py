"""Source objects (charges, refunds, disputes, invoices and their lines, credit notes, the catalog)
through the real stripe SDK from the sandbox API and from a Data Pipeline delivery in moto S3, into
a real DuckDB file; and personal data kept out of it unless allowlisted."""

import dataclasses
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from ledger import warehouse
from ledger.config import ConfigError
from ledger.sources import source_tables
from ledger.sources.data_pipeline import BALANCE_TRANSACTIONS, FEE_DETAILS, LOAD_ORDER, TRANSFERS, DataPipelineError, load_newest_run
from ledger.sources.ingest_settings import IngestSettings
from ledger.sources.stripe_api import StripeApiSettings, Window, ingest
from sandbox import data_pipeline as delivery
from sandbox import raw_tables
from sandbox.ground_truth import iso_jurisdiction, revenue_truth
from sandbox.merchant import WorldSpec, simulate
from sandbox.sales import sales
from sandbox.stripe_api import SandboxStripeServer, ServerBehaviour
from tests.conftest import API_KEY
from tests.s3_fixtures import layout, local_s3  # noqa: F401 - fixtures

FOUR_CURRENCIES = WorldSpec(seed=7, days=10, transactions_per_day=40, currencies=("usd", "eur", "jpy", "kwd"), connect_transfers=True)


@pytest.fixture(scope="module")
def world():
    return simulate(FOUR_CURRENCIES)


def whole(world) -> Window:
    return Window(datetime.fromtimestamp(world.spec.start_ts, tz=timezone.utc), datetime.fromtimestamp(world.as_of, tz=timezone.utc))


def ingest_api(world, path, window=None, **options):
    with SandboxStripeServer(world, API_KEY) as server, warehouse.connect(path) as connection:
        window = window or whole(world)
        return ingest(StripeApiSettings(api_key=API_KEY, api_base=server.url, max_requests_per_second=500, **options), connection, window, now=window.end)


def source_rows(path, exclude=("_source", "_loaded_at")) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return {table.name: connection.execute(f"select * exclude ({', '.join(exclude)}) from raw.{table.name} order by all").fetchall()
                for table in source_tables.TABLES}


def test_listing_and_expanding_land_identical_source_tables_and_expanding_takes_fewer_requests(world, tmp_path):
    listed = ingest_api(world, tmp_path / "list.duckdb", source_objects="list")
    expanded = ingest_api(world, tmp_path / "expand.duckdb")
    off = ingest_api(world, tmp_path / "off.duckdb", source_objects="off")
    rows = source_rows(tmp_path / "list.duckdb")
    assert all(rows.values())
    assert source_rows(tmp_path / "expand.duckdb") == rows
    assert not any(source_rows(tmp_path / "off.duckdb").values())
    detail = sales(world)
    assert len(rows["stripe_charges"]) == len(detail.charges) and len(rows["stripe_invoices"]) == len(detail.invoices)
    assert len(rows["stripe_invoice_line_items"]) == sum(len(invoice["lines"]["data"]) for invoice in detail.invoices)
    assert listed.source_rows["stripe_credit_note_line_item_taxes"] == sum(len(note["lines"]["data"]) for note in detail.credit_notes)
    # Stripe Tax transactions, read by id from the charges and refunds (reversals) that name them; Connect transfers.
    assert [row[0] for row in rows["stripe_tax_transactions"]] == sorted(t["id"] for t in detail.tax_transactions)
    assert {row[1] for row in rows["stripe_tax_transactions"]} == {"transaction", "reversal"}
    assert len(rows["stripe_tax_transaction_line_items"]) == len(detail.tax_transactions) > 0
    assert [row[0] for row in rows["stripe_transfers"]] == sorted(t["id"] for t in detail.transfers) and detail.transfers
    assert off.requests < expanded.requests < listed.requests


def test_the_raw_tables_give_revenue_by_product_and_tax_by_jurisdiction_to_the_minor_unit(world, tmp_path):
    ingest_api(world, tmp_path / "w.duckdb")
    truth = revenue_truth(world)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        sold = connection.execute(
            "select currency, product_id, sum(amount), sum(discount_amount) from raw.stripe_invoice_line_items group by all").fetchall()
        credited = connection.execute(
            "select n.currency, l.product_id, sum(c.amount) from raw.stripe_credit_note_line_items c "
            "join raw.stripe_credit_notes n on n.id = c.credit_note_id join raw.stripe_invoice_line_items l on l.id = c.invoice_line_item_id "
            "group by all").fetchall()
        taxed = connection.execute("""
            select currency, country, state, jurisdiction, sum(amount) from (
                select i.currency, r.country, r.state, r.jurisdiction, t.amount from raw.stripe_invoice_line_item_taxes t
                join raw.stripe_invoices i on i.id = t.invoice_id join raw.stripe_tax_rates r on r.id = t.tax_rate_id
                union all
                select n.currency, r.country, r.state, r.jurisdiction, -t.amount from raw.stripe_credit_note_line_item_taxes t
                join raw.stripe_credit_notes n on n.id = t.credit_note_id join raw.stripe_tax_rates r on r.id = t.tax_rate_id
            ) group by all""").fetchall()
        untied = connection.execute("""
            select count(*) from raw.stripe_invoices i
            join (select invoice_id, sum(amount) as lines, sum(discount_amount) as discounts, sum(tax_amount) as taxes
                  from raw.stripe_invoice_line_items group by all) l on l.invoice_id = i.id
            join raw.stripe_invoice_payments p on p.invoice_id = i.id join raw.stripe_charges c on c.payment_intent_id = p.payment_intent_id
            where l.lines - l.discounts + l.taxes + i.amount_shipping <> i.total or i.total <> c.amount""").fetchone()[0]
    assert {(c, p): s for c, p, s, _ in sold} == truth.product_sales
    assert {(c, p): d for c, p, _, d in sold if d} == {k: v for k, v in truth.product_discounts.items() if v}
    assert dict(((c, p), s) for c, p, s in credited) == truth.product_credited
    # The truth names jurisdictions as the ledger does: ISO from the rate's country and state.
    assert {(c, iso_jurisdiction(country, state) or j): t for c, country, state, j, t in taxed} == truth.tax_by_jurisdiction
    assert {currency for currency, _ in truth.tax_by_jurisdiction} == {"usd", "eur", "jpy", "kwd"}
    assert untied == 0


def test_loading_a_world_straight_into_the_warehouse_lands_the_source_tables_ingestion_lands(world, tmp_path):
    ingest_api(world, tmp_path / "api.duckdb")
    with warehouse.connect(tmp_path / "loaded.duckdb") as connection:
        counts = raw_tables.load_world(connection, world)
    # Ingestion stamps the key's own account; a world loaded straight has none, as its balance transactions.
    unstamped = ("_source", "_loaded_at", "stripe_account_id")
    loaded = source_rows(tmp_path / "loaded.duckdb", unstamped)
    assert loaded == source_rows(tmp_path / "api.duckdb", unstamped)
    assert counts["stripe_charges"] == len(sales(world).charges) and all(loaded.values())


def test_a_tax_transaction_stripe_does_not_know_is_a_warning_and_the_rest_lands(tmp_path):
    world = simulate(dataclasses.replace(FOUR_CURRENCIES, transactions_per_day=15))  # its own: the test edits its detail
    detail = sales(world)
    taxed = [charge for charge in detail.charges if source_tables.TAX_TRANSACTION_KEY in charge["metadata"]]
    taxed[0]["metadata"][source_tables.TAX_TRANSACTION_KEY] = "tax_mistyped"  # the merchant's own text
    reversing = [refund for refund in detail.refunds if source_tables.TAX_TRANSACTION_KEY in refund["metadata"]]
    reversing[0]["metadata"][source_tables.TAX_TRANSACTION_KEY] = "tax_reversal_mistyped"
    stats = ingest_api(world, tmp_path / "w.duckdb")
    assert sorted(stats.warnings) == [
        f"charge {taxed[0]['id']} names Stripe Tax transaction 'tax_mistyped' in its metadata (tax_transaction), "
        "which Stripe does not know (HTTP 404): its tax is not landed",
        f"refund {reversing[0]['id']} names Stripe Tax transaction 'tax_reversal_mistyped' in its metadata (tax_transaction), "
        "which Stripe does not know (HTTP 404): its tax is not landed"]
    # Every other transaction lands: the sales' and the reversals' the refunds name.
    assert len(source_rows(tmp_path / "w.duckdb")["stripe_tax_transactions"]) == len(taxed) - 1 + len(reversing) - 1 > len(taxed)
    assert stats.balance_transactions == world.balance_transactions.num_rows


def test_a_refund_of_a_charge_created_before_the_window_brings_that_charge_by_id(world, tmp_path):
    start = datetime.fromtimestamp(world.spec.start_ts, tz=timezone.utc) + timedelta(days=5)
    stats = ingest_api(world, tmp_path / "w.duckdb", window=Window(start, whole(world).end))
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        refunds, orphans, older = connection.execute(
            "select count(*), count(*) filter (where charge_id not in (select id from raw.stripe_charges)), "
            "count(*) filter (where charge_id in (select id from raw.stripe_charges where created < ?))"
            " from raw.stripe_refunds", [start.replace(tzinfo=None)]).fetchone()
    assert refunds > 0 and orphans == 0 and older > 0
    assert stats.source_rows["stripe_charges"] > 0


def test_two_incremental_windows_land_what_one_window_lands(world, tmp_path):
    window = whole(world)
    middle = window.start + (window.end - window.start) / 2
    ingest_api(world, tmp_path / "once.duckdb")
    ingest_api(world, tmp_path / "twice.duckdb", window=Window(window.start, middle))
    ingest_api(world, tmp_path / "twice.duckdb", window=Window(middle - timedelta(minutes=10), window.end))
    assert source_rows(tmp_path / "twice.duckdb") == source_rows(tmp_path / "once.duckdb")


def all_text(path) -> str:
    """Every value of every table of the warehouse, as text."""
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = connection.execute(
            "select table_schema, table_name from information_schema.tables where table_catalog = current_database()").fetchall()
        return "\n".join(str(row) for schema, table in tables for row in connection.execute(f'select * from "{schema}"."{table}"').fetchall())


def test_no_personal_data_reaches_the_warehouse_by_default_from_either_source(world, layout, tmp_path):
    ingest_api(world, tmp_path / "api.duckdb")
    delivery.write_export(layout.s3_client(), layout, world)
    with warehouse.connect(tmp_path / "pipeline.duckdb") as connection:
        stats = load_newest_run(layout, connection)
    assert stats.source_rows == sum(len(rows) for rows in source_rows(tmp_path / "pipeline.duckdb").values()) > 0
    personal = sales(world).personal_values()
    for path in (tmp_path / "api.duckdb", tmp_path / "pipeline.duckdb"):
        text = all_text(path)
        assert "cus_" in text  # customer ids stay
        assert [value for value in personal if value in text] == []
    # The delivery's source files (which hold it) are not kept beside the warehouse.
    kept = [p.name for p in (tmp_path / "pipeline.duckdb.data_pipeline").rglob("*") if p.is_dir()]
    assert not set(kept) & ({table.delivered_name for table in source_tables.TABLES} - set(LOAD_ORDER))  # `transfers` holds the payouts


def test_the_allowlist_keeps_the_named_columns_and_nothing_else(world, layout, tmp_path):
    allowed = frozenset({"stripe_charges.receipt_email", "stripe_invoices.customer_name"})
    ingest_api(world, tmp_path / "api.duckdb", personal_data=allowed)
    delivery.write_export(layout.s3_client(), layout, world)
    with warehouse.connect(tmp_path / "pipeline.duckdb") as connection:
        load_newest_run(dataclasses.replace(layout, personal_data=allowed), connection)
    customers = sales(world).customers
    for path in (tmp_path / "api.duckdb", tmp_path / "pipeline.duckdb"):
        with duckdb.connect(str(path), read_only=True) as connection:
            emails = {row[0] for row in connection.execute("select distinct receipt_email from raw.stripe_charges").fetchall()}
            names = {row[0] for row in connection.execute("select distinct customer_name from raw.stripe_invoices").fetchall()}
        assert emails <= {c["email"] for c in customers} and len(emails) > 1
        assert names <= {c["name"] for c in customers} and len(names) > 1
        text = all_text(path)
        assert [c["phone"] for c in customers if c["phone"] in text] == []
        assert [c["line1"] for c in customers if c["line1"] in text] == []


@pytest.mark.parametrize(("environment", "message"), [
    ({"CLOSE_PERSONAL_DATA_ALLOWLIST": "stripe_charges.amount"},
     "CLOSE_PERSONAL_DATA_ALLOWLIST: stripe_charges.amount is not a personal-data column; choose from stripe_charges.description"),
    ({"STRIPE_SOURCE_OBJECTS": "all"}, "STRIPE_SOURCE_OBJECTS='all' is not one of expand, list, off"),
])
def test_bad_source_settings_name_the_variable(environment, message):
    with pytest.raises(ConfigError) as refused:
        IngestSettings.from_env(environment)
    assert str(refused.value).startswith(message)


def test_the_allowlist_and_mode_from_the_environment():
    settings = IngestSettings.from_env({"CLOSE_PERSONAL_DATA_ALLOWLIST": " stripe_charges.receipt_email ,stripe_invoices.customer_email",
                                        "STRIPE_SOURCE_OBJECTS": "list"})
    assert settings.api.personal_data == {"stripe_charges.receipt_email", "stripe_invoices.customer_email"}
    assert settings.api.source_objects == "list"
    assert IngestSettings.from_env({}).api.personal_data == frozenset()
    assert IngestSettings.from_env({}).api.source_objects == "expand"


def test_a_key_refused_a_source_endpoint_lands_the_rest_and_says_what_it_lacks(world, tmp_path):
    window = whole(world)
    with SandboxStripeServer(world, API_KEY, behaviour=ServerBehaviour(refused_endpoints=("/v1/invoices",))) as server, \
            warehouse.connect(tmp_path / "w.duckdb") as connection:
        stats = ingest(StripeApiSettings(api_key=API_KEY, api_base=server.url, max_requests_per_second=500), connection, window, now=window.end)
    rows = source_rows(tmp_path / "w.duckdb")
    assert rows["stripe_invoices"] == [] and rows["stripe_invoice_line_items"] == []
    assert len(rows["stripe_charges"]) == len(sales(world).charges) and stats.balance_transactions == world.balance_transactions.num_rows
    assert stats.warnings == [
        "source objects skipped: Stripe refused GET /v1/invoices (HTTP 403): the API key lacks the permission "
        '"Invoices: Read" (rak_invoice_read); give it to the restricted key (docs/ingestion.md lists every permission stripe-close needs)'
    ]


def test_a_source_table_that_cannot_land_is_refused_naming_it_and_the_loaded_delivery_stays(world, layout, tmp_path):
    delivery.write_export(layout.s3_client(), layout, world)
    with warehouse.connect(tmp_path / "w.duckdb") as connection:
        load_newest_run(layout, connection)
    before = source_rows(tmp_path / "w.duckdb")
    later = world.as_of + 86_400
    writer = delivery.ExportWriter(layout.s3_client(), layout, datetime.fromtimestamp(later, tz=timezone.utc))
    writer.put(BALANCE_TRANSACTIONS, delivery.balance_transactions(world, later))
    writer.put(TRANSFERS, delivery.transfers(world, later))
    writer.put(FEE_DETAILS, delivery.fee_details(world, later))
    charges = delivery.source_object_tables(world, later)["charges"]
    writer.put("charges", charges.set_column(charges.schema.get_field_index("amount"), "amount",
                                             pa.array(["12,00"] * charges.num_rows, pa.string())))
    writer.complete()
    with warehouse.connect(tmp_path / "w.duckdb") as connection, pytest.raises(DataPipelineError) as refused:
        load_newest_run(layout, connection)
    assert str(refused.value).startswith(f"Data Pipeline run {writer.run} is refused and the warehouse left as it was: table charges (s3://")
    assert "cannot land in raw.stripe_charges" in str(refused.value)
    assert source_rows(tmp_path / "w.duckdb") == before


def test_a_run_killed_before_its_source_objects_commit_leaves_none_and_a_rerun_lands_them_all(world, tmp_path):
    """`stripe-close ingest` killed (SIGKILL) as it commits the source objects: nothing of them is
    half-written, no cursor moved; the same command again lands what one clean run lands."""
    command = [str(Path(sys.executable).with_name("stripe-close")), "ingest", "--start", world.spec.start.isoformat(),
               "--end", (world.spec.start + timedelta(days=world.spec.days - 1)).isoformat()]
    with SandboxStripeServer(world, API_KEY) as server:
        def run(warehouse_path, **extra):
            environment = {**os.environ, "CLOSE_SOURCE": "api", "STRIPE_API_KEY": API_KEY, "STRIPE_API_BASE": server.url,
                           "CLOSE_WAREHOUSE": str(warehouse_path), "STRIPE_MAX_REQUESTS_PER_SECOND": "500", **extra}
            return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)

        trace = tmp_path / "trace.txt"
        assert run(tmp_path / "clean.duckdb", CLOSE_FAILPOINT_TRACE=str(trace)).returncode == 0
        commits = trace.read_text().split().count("warehouse.commit")
        # From the end: cursors, balance snapshot, tax transactions and charges read by id, the source objects' batch.
        killed = run(tmp_path / "killed.duckdb", CLOSE_FAILPOINT=f"warehouse.commit:{commits - 4}")
        assert killed.returncode == -9
        assert not any(source_rows(tmp_path / "killed.duckdb").values())
        with duckdb.connect(str(tmp_path / "killed.duckdb"), read_only=True) as connection:
            assert connection.execute("select count(*) from raw.stripe_balance_transactions").fetchone()[0] == world.balance_transactions.num_rows
            assert connection.execute("select count(*) from ingest_state.cursors").fetchone()[0] == 0
        assert run(tmp_path / "killed.duckdb").returncode == 0
    assert source_rows(tmp_path / "killed.duckdb") == source_rows(tmp_path / "clean.duckdb")
    assert all(source_rows(tmp_path / "clean.duckdb").values())
