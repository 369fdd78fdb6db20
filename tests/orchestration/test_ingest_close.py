"""A whole close fed by a Stripe Data Pipeline delivery (CLOSE_SOURCE=data_pipeline) instead of the API."""

import dataclasses
from datetime import timedelta

import dagster as dg
import pytest

from ledger.config import CloseSettings
from orchestration.close_run import run_close
from sandbox import data_pipeline as delivery
from sandbox.bank_deposits import plan_deposits
from sandbox.ground_truth import ground_truth
from tests.s3_fixtures import layout, local_s3  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e


def test_a_close_from_the_data_pipeline_equals_the_ground_truth(small_world, layout, monkeypatch, tmp_path):
    delivery.write_export(layout.s3_client(), layout, small_world)
    environment = {
        "CLOSE_SOURCE": "data_pipeline", "CLOSE_DATA_PIPELINE_URI": layout.uri, "CLOSE_DATA_PIPELINE_MODE": layout.mode,
        "AWS_ENDPOINT_URL": layout.endpoint_url,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    settings = dataclasses.replace(CloseSettings.from_env(environment), warehouse=tmp_path / "warehouse.duckdb", export_dir=tmp_path / "exports")
    spec = small_world.spec
    result = run_close(settings, spec.start, spec.start + timedelta(days=spec.days - 1), dg.DagsterInstance.ephemeral())
    truth = ground_truth(small_world, plan_deposits(small_world))
    assert {(row.currency, row.account_code): row.balance_minor for row in result.trial_balance} == truth.gl_balances
    assert result.balance_transactions == small_world.balance_transactions.num_rows
    # No bank statements in this close: every blocking check passes, and a warning says the bank
    # reconciliation was not performed.
    assert result.failed_checks == ()
    assert "bank_reconciliation_performed" in dict(result.warnings)
    assert result.bank_coverage.describe() == "bank reconciliation NOT performed: no statements for EUR, JPY, USD"
