"""The Dagster export guard reads every blocking check of the code location from the instance.

Real runs on one instance: the ledger built by the dbt asset (its dbt tests evaluated, the standalone
checks not), the GX suites and the configuration check evaluated in a run of their own, the ledger
built again. The export is refused while a standalone check has no evaluation, allowed once every
blocking check passed on the ledger as built, and refused again when the ledger is newer than them.
"""

import dagster as dg
import pytest
from dagster_dbt import DbtCliResource

from ledger.checks.suites import SUITES
from ledger.dbt_project import dbt_executable
from orchestration.defs.export.assets import netsuite_journal_csv
from orchestration.defs.export.guard import blocking_checks
from orchestration.defs.quality.checks import accounting_configuration_is_valid, gx_proofs
from orchestration.defs.resources import ExportResource, WarehouseResource
from orchestration.defs.transform.assets import ledger_dbt_models
from orchestration.defs.transform.project import dbt_project
from tests.dbt.builders import copy_ledger, small_world_ledger

DAY, PERIOD = "2026-10-05", "2026-10"
STANDALONE_CHECKS = [*gx_proofs, accounting_configuration_is_valid]
STANDALONE_NAMES = sorted(
    [f"fct_journal_lines:gx_{suite.name}" for suite in SUITES] + ["accounting/gl_mapping_rules:accounting_configuration_is_valid"]
)


@pytest.fixture
def resources(tmp_path, monkeypatch):
    warehouse = copy_ledger(small_world_ledger(), tmp_path / "ledger")
    monkeypatch.setenv("CLOSE_WAREHOUSE", str(warehouse))  # dbt's profile reads it
    return {
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
        "warehouse": WarehouseResource(path=str(warehouse)),
        "exports": ExportResource(directory=str(tmp_path / "exports")),
    }


def build_ledger(instance, resources) -> dg.ExecuteInProcessResult:
    """The dbt asset alone, as a run that selects no standalone check."""
    return dg.materialize([ledger_dbt_models], partition_key=DAY, instance=instance, resources=resources)


def export(instance, resources) -> dg.ExecuteInProcessResult:
    return dg.materialize([netsuite_journal_csv], partition_key=PERIOD, instance=instance, resources=resources, raise_on_error=False)


def refused_checks(result: dg.ExecuteInProcessResult) -> list[str]:
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    return failure.event_specific_data.user_failure_data.metadata["failing_checks"].value


def test_the_guard_covers_the_code_locations_standalone_checks():
    names = {f"{key.asset_key.to_user_string()}:{key.name}" for key in blocking_checks()}
    assert set(STANDALONE_NAMES) <= names
    assert "fct_journal_lines:journal_balances" in names
    assert "rpt_stripe_balance_rollforward:assert_stripe_balance_rolls_forward" not in names  # not a guarded model


def test_an_export_needs_every_standalone_check_evaluated_after_the_ledger_was_built(resources, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    exported = tmp_path / "exports" / "main" / PERIOD / f"netsuite_journal_entries_main_{PERIOD}.csv"
    build_ledger(instance, resources)

    assert refused_checks(export(instance, resources)) == [f"{name} (not evaluated)" for name in STANDALONE_NAMES]
    assert not exported.exists()

    proven = dg.materialize(
        [ledger_dbt_models, *STANDALONE_CHECKS], selection=dg.AssetSelection.checks(*STANDALONE_CHECKS), instance=instance, resources=resources,
    )
    evaluations = proven.get_asset_check_evaluations()
    assert sorted(f"{e.asset_key.to_user_string()}:{e.check_name}" for e in evaluations) == STANDALONE_NAMES
    assert all(evaluation.passed for evaluation in evaluations)
    assert export(instance, resources).success
    assert exported.exists()

    exported.unlink()
    rebuilt = build_ledger(instance, resources)
    # The models were rebuilt, not the seeds (their own unpartitioned asset): the configuration check still holds.
    assert refused_checks(export(instance, resources)) == [
        f"{name} (stale: evaluated in run {proven.run_id}, before {name.split(':')[0]} was rebuilt in run {rebuilt.run_id})"
        for name in STANDALONE_NAMES if name.startswith("fct_journal_lines:")
    ]
    assert not exported.exists()
