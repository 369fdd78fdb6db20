"""A bad seed row is named, with its file, line and values, on the Dagster paths too, before dbt builds anything."""

import dataclasses

import dagster as dg
import pytest
from dagster_dbt import DbtCliResource, DbtProject

from ledger.config import CloseSettings
from ledger.dbt_project import dbt_executable
from orchestration import close_run
from orchestration.defs import resources as resource_definitions
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.transform.assets import accounting_config_seeds, ledger_dbt_models
from tests.conftest import API_KEY, close_small_world
from tests.dbt.builders import land, project_copy, query, transaction

BAD_LINE = (
    "gl_mapping_rules.csv line 5 (match_on='reporting_category', match_value='refund', currency='', entity_id=''): "
    "gross_account_code '4901' is not an account in gl_accounts.csv"
)


@pytest.fixture
def broken_project(tmp_path):
    """A copy of the dbt project whose refund rule (line 5) books to an account the chart lacks."""
    project = project_copy(tmp_path / "dbt_project")
    rules = project / "seeds" / "gl_mapping_rules.csv"
    lines = rules.read_text().splitlines(keepends=True)
    assert lines[4].startswith("reporting_category,refund,,,4900,")
    lines[4] = lines[4].replace(",4900,", ",4901,", 1)
    rules.write_text("".join(lines))
    return project


def built_tables(warehouse) -> list[tuple]:
    """Tables dbt would have made: anything outside ingestion's landing and cursors."""
    return query(warehouse, "select table_schema, table_name from information_schema.tables "
                            "where table_schema not in ('raw', 'ingest_state') order by all")


def test_the_seeds_asset_names_the_bad_row_and_builds_nothing(broken_project, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    land(warehouse, [transaction("txn_1", "charge", "charge", 1_000)])
    result = dg.materialize(
        [accounting_config_seeds, ledger_dbt_models], partition_key="2026-10-05", instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
        resources={
            "dbt": DbtCliResource(project_dir=str(broken_project), dbt_executable=dbt_executable()),
            "warehouse": WarehouseResource(path=str(warehouse)),
        },
    )
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert failure.step_key == "accounting_config_seeds"
    assert failure.event_specific_data.user_failure_data.description == f"invalid accounting configuration:\n  {BAD_LINE}"
    assert result.get_asset_materialization_events() == []
    assert built_tables(warehouse) == []


def test_run_close_names_the_bad_row_before_dbt(broken_project, small_world, tmp_path, monkeypatch):
    # The code location's dbt resource builds the broken copy, as it would an edited project.
    monkeypatch.setattr(resource_definitions, "dbt_project", DbtProject(project_dir=broken_project, profiles_dir=broken_project))
    settings = dataclasses.replace(
        CloseSettings.from_env({}), source="sandbox", warehouse=tmp_path / "warehouse.duckdb", export_dir=tmp_path / "exports",
        stripe_api_key=API_KEY,
    )
    with pytest.raises(close_run.CloseFailed) as failed:
        close_small_world(small_world, settings, dg.DagsterInstance.ephemeral())
    assert str(failed.value).endswith(f"failed at accounting_config_seeds: invalid accounting configuration:\n  {BAD_LINE}")
    assert query(settings.warehouse, "select count(*) from raw.stripe_balance_transactions")[0][0] > 0
    assert built_tables(settings.warehouse) == []
