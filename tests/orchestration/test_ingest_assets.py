"""The ingestion asset and the Data Pipeline sensor, materialized and evaluated by real Dagster."""

import os
from datetime import timedelta

import dagster as dg
import duckdb
import pyarrow as pa
import pytest

from ledger import warehouse as ledger_warehouse
from orchestration.defs.ingest.assets import RAW_TABLE_DESCRIPTIONS, stripe_ingest
from orchestration.defs.ingest.sensors import stripe_data_pipeline_delivery, stripe_ingest_job
from orchestration.defs.resources import StripeApiResource, WarehouseResource
from sandbox import data_pipeline as delivery
from sandbox.stripe_api import SandboxStripeServer
from tests.conftest import API_KEY
from tests.s3_fixtures import layout, local_s3, replace_object, with_column  # noqa: F401 - fixtures

DAY = 86_400


@pytest.fixture
def pipeline_environment(layout, monkeypatch):
    monkeypatch.setenv("CLOSE_SOURCE", "data_pipeline")
    monkeypatch.setenv("CLOSE_DATA_PIPELINE_URI", layout.uri)
    monkeypatch.setenv("CLOSE_DATA_PIPELINE_MODE", layout.mode)
    monkeypatch.setenv("AWS_ENDPOINT_URL", layout.endpoint_url)
    return layout


def materialize(tmp_path, api_base="http://127.0.0.1:9", run_config=None):
    resources = {"warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb")), "stripe": StripeApiResource(api_key=API_KEY, api_base=api_base)}
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([stripe_ingest], resources=resources, run_config=run_config or {}, instance=instance)
    assert result.success
    logs = " ".join(entry.user_message for entry in instance.all_logs(result.run_id))
    return {m.asset_key.path[-1]: m.metadata for m in result.asset_materializations_for_node("stripe_ingest")}, logs


def test_the_asset_loads_the_newest_data_pipeline_delivery(small_world, pipeline_environment, tmp_path):
    writer = delivery.write_export(pipeline_environment.s3_client(), pipeline_environment, small_world)
    metadata, _ = materialize(tmp_path)
    assert set(metadata) == set(RAW_TABLE_DESCRIPTIONS)
    transactions = metadata["stripe_balance_transactions"]
    assert transactions["source"].value == "data_pipeline"
    assert transactions["run_data_pipeline_run"].value == writer.run
    assert transactions["dagster/row_count"].value == small_world.balance_transactions.num_rows
    assert metadata["stripe_payouts"]["dagster/row_count"].value == small_world.payouts.num_rows


def test_the_asset_reads_the_api_and_reports_its_telemetry_without_the_key(small_world, monkeypatch, tmp_path):
    monkeypatch.setenv("CLOSE_SOURCE", "sandbox")
    spec = small_world.spec
    config = {"ops": {"stripe_ingest": {"config": {"start_date": spec.start.isoformat(), "end_date": (spec.start + timedelta(days=spec.days - 1)).isoformat()}}}}
    with SandboxStripeServer(small_world, API_KEY) as server:
        metadata, logs = materialize(tmp_path, server.url, config)
    figures = metadata["stripe_balance_transactions"]
    assert figures["run_balance_transactions"].value == small_world.balance_transactions.num_rows
    assert figures["run_requests"].value > 0 and figures["run_retries"].value == 0
    for name in ("run_latency_p50_ms", "run_latency_p95_ms", "run_latency_p99_ms", "run_objects_per_s", "run_rate_limited_429", "run_failed_request_ids"):
        assert name in figures
    assert API_KEY not in logs + str(metadata)
    assert "requests" in logs and "latency p50/p95/p99" in logs


def test_the_sensor_starts_one_run_per_new_success_marker(small_world, pipeline_environment):
    s3 = pipeline_environment.s3_client()
    assert isinstance(stripe_data_pipeline_delivery(dg.build_sensor_context()), dg.SkipReason)
    first = delivery.write_export(s3, pipeline_environment, small_world, clock=small_world.as_of - 2 * DAY)
    request = stripe_data_pipeline_delivery(dg.build_sensor_context())
    assert isinstance(request, dg.RunRequest) and request.run_key == first.run
    assert isinstance(stripe_data_pipeline_delivery(dg.build_sensor_context(cursor=first.run)), dg.SkipReason)
    # Tables of a newer run without their marker do not start anything yet.
    second = delivery.ExportWriter(s3, pipeline_environment, first.run_time + timedelta(hours=6))
    second.put("balance_transactions", delivery.balance_transactions(small_world, small_world.as_of))
    assert isinstance(stripe_data_pipeline_delivery(dg.build_sensor_context(cursor=first.run)), dg.SkipReason)
    second.complete()
    request = stripe_data_pipeline_delivery(dg.build_sensor_context(cursor=first.run))
    assert isinstance(request, dg.RunRequest) and request.run_key == second.run
    # The delivery lands on the accounting day of its cut-off: the daily partition of the run.
    assert request.partition_key == second.run_time.date().isoformat()
    assert stripe_data_pipeline_delivery.job_name == stripe_ingest_job.name


def test_the_sensor_skips_when_the_source_is_the_api(monkeypatch):
    monkeypatch.setenv("CLOSE_SOURCE", "api")
    result = stripe_data_pipeline_delivery(dg.build_sensor_context())
    assert isinstance(result, dg.SkipReason) and "not data_pipeline" in result.skip_message


def test_bad_configuration_fails_the_asset_and_leaves_the_warehouse_alone(monkeypatch, tmp_path):
    monkeypatch.setenv("CLOSE_SOURCE", "data_pipeline")
    monkeypatch.setenv("CLOSE_DATA_PIPELINE_URI", "https://not-s3/prefix")
    resources = {"warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb")), "stripe": StripeApiResource(api_key=API_KEY)}
    result = dg.materialize([stripe_ingest], resources=resources, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    failure = next(event for event in result.all_events if event.is_step_failure)
    assert "is not an s3://bucket/prefix URI (from CLOSE_DATA_PIPELINE_URI)" in failure.event_specific_data.error.message
    # Settings are checked before the warehouse is opened.
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_the_code_location_carries_the_ingest_job_and_the_delivery_sensor():
    from orchestration.definitions import defs

    definitions = defs()
    assert definitions.resolve_sensor_def("stripe_data_pipeline_delivery").job_name == "stripe_ingest_job"
    job_assets = definitions.resolve_job_def("stripe_ingest_job").asset_layer.executable_asset_keys
    assert {key.path[-1] for key in job_assets} == set(RAW_TABLE_DESCRIPTIONS)


def test_the_demo_can_close_from_a_local_data_pipeline_delivery(small_world, monkeypatch, tmp_path):
    from ledger.sources.data_pipeline import load_newest_run
    from ledger.sources.ingest_settings import data_pipeline_settings_from_env
    from orchestration.cli_ingest import demo_source

    monkeypatch.delenv("CLOSE_DATA_PIPELINE_URI", raising=False)
    with demo_source("api", small_world) as source:
        assert source == "sandbox"
    with demo_source("data_pipeline", small_world) as source:
        assert source == "data_pipeline"
        settings = data_pipeline_settings_from_env(os.environ)
        with ledger_warehouse.connect(tmp_path / "warehouse.duckdb") as connection:
            assert load_newest_run(settings, connection).balance_transactions == small_world.balance_transactions.num_rows
    assert "CLOSE_DATA_PIPELINE_URI" not in os.environ


def test_a_refused_delivery_fails_the_run_naming_the_column_and_keeps_the_loaded_one(small_world, pipeline_environment, tmp_path):
    s3 = pipeline_environment.s3_client()
    delivery.write_export(s3, pipeline_environment, small_world, clock=small_world.as_of - 3 * DAY)
    loaded, _ = materialize(tmp_path)
    delivery.write_export(s3, pipeline_environment, small_world)
    uri = replace_object(pipeline_environment, delivery.BALANCE_TRANSACTIONS,
                         with_column("amount", lambda column: pa.array([value / 100 for value in column.to_pylist()], pa.float64())))
    resources = {"warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb")), "stripe": StripeApiResource(api_key=API_KEY, api_base="http://127.0.0.1:9")}
    result = dg.materialize([stripe_ingest], resources=resources, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    [failure] = result.get_step_failure_events()
    error = failure.step_failure_data.error
    messages = [error.message] + ([error.cause.message] if error.cause else [])
    assert any(f"table balance_transactions, column amount: {uri} stores double, but it lands as BIGINT" in message for message in messages)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as connection:
        [(count,)] = connection.execute("select count(*) from raw.stripe_balance_transactions").fetchall()
    assert count == loaded["stripe_balance_transactions"]["dagster/row_count"].value
