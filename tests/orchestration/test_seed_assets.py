"""The accounting configuration (the dbt seeds) is one unpartitioned asset definition, loaded in
every partitioned ledger run before the models that read it."""

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject

from ledger import dbt_seeds
from ledger.dbt_project import dbt_executable
from orchestration.definitions import defs
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.transform.assets import accounting_config_seeds, dbt_project_assets, ledger_dbt_models
from orchestration.partitions import daily_partitions
from tests.dbt.builders import land, project_copy, query, transaction

CHARGE_RULE = "reporting_category,charge,,,4000,"


def test_the_seeds_have_no_partitions_and_the_models_have_days():
    graph = defs().resolve_asset_graph()
    seeds = set(accounting_config_seeds.keys)
    assert {key.to_user_string() for key in seeds} >= {"accounting/gl_accounts", "accounting/gl_mapping_rules", "accounting/entities"}
    assert {key: graph.get(key).partitions_def for key in seeds} == dict.fromkeys(seeds)
    assert {graph.get(key).partitions_def for key in ledger_dbt_models.keys} == {daily_partitions}
    # The seeds' own tests are their checks; a test that reads a model too (an account missing from
    # the chart) is the model's, run after the model is built.
    assert dg.AssetCheckKey(dg.AssetKey(["accounting", "gl_accounts"]), "unique_gl_accounts_account_code") in accounting_config_seeds.check_keys
    assert dg.AssetCheckKey(dg.AssetKey("fct_journal_lines"), "accounts_in_chart") in ledger_dbt_models.check_keys


def test_the_ledger_job_loads_the_seeds_with_its_days():
    job = defs().resolve_job_def("ledger_close_job")
    assert job.partitions_def == daily_partitions
    assert set(accounting_config_seeds.keys) <= set(job.asset_layer.asset_graph.get_all_asset_keys())


def test_a_partitioned_run_reads_the_seed_files_as_edited(tmp_path, monkeypatch):
    project = project_copy(tmp_path / "dbt_project")
    warehouse = tmp_path / "warehouse.duckdb"
    # dbt reads the warehouse's path from the environment.
    monkeypatch.setenv("CLOSE_WAREHOUSE", str(warehouse))
    land(warehouse, [transaction("txn_1", "charge", "charge", 1_000)])
    dbt = DbtCliResource(project_dir=str(project), dbt_executable=dbt_executable())
    # dagster-dbt runs dbt in the project of the asset definitions: the copy's, parsed.
    dbt.cli(["parse", "--quiet"], target_path=project / "target").wait()
    seeds, models = dbt_project_assets(DbtProject(project_dir=project, profiles_dir=project))
    resources = {"dbt": dbt, "warehouse": WarehouseResource(path=str(warehouse))}
    instance = dg.DagsterInstance.ephemeral()

    rules_key = dg.AssetKey(["accounting", "gl_mapping_rules"])
    unique_codes = dg.AssetCheckKey(dg.AssetKey(["accounting", "gl_accounts"]), "unique_gl_accounts_account_code")

    def close_the_day() -> tuple[list[tuple], dict, set[dg.AssetCheckKey]]:
        """The day's credits, the mapping rules' materialization metadata and the seed checks the run evaluated."""
        result = dg.materialize([seeds, models], partition_key="2026-10-05", instance=instance, resources=resources)
        materialized = {event.asset_key: event.materialization for event in result.get_asset_materialization_events()}
        assert materialized[rules_key].partition is None
        assert materialized[dg.AssetKey("fct_journal_lines")].partition == "2026-10-05"
        evaluated = {evaluation.asset_check_key for evaluation in result.get_asset_check_evaluations() if evaluation.asset_key in seeds.keys}
        credits = query(warehouse, "select account_code, amount_minor from main.fct_journal_lines where amount_minor < 0 order by all")
        return credits, materialized[rules_key].metadata, evaluated

    credits, metadata, evaluated = close_the_day()
    assert credits == [("4000", -1_000)]
    assert "configuration" not in metadata and unique_codes in evaluated
    loaded_at = query(warehouse, f"select loaded_at from {dbt_seeds.FINGERPRINT_TABLE}")[0][0]

    # The next run finds the configuration it would load already loaded: it says so and runs no
    # seed test (nothing shown as passed that did not run).
    credits, metadata, evaluated = close_the_day()
    assert credits == [("4000", -1_000)]
    assert metadata["configuration"] == dg.TextMetadataValue(f"unchanged since {loaded_at:%Y-%m-%d %H:%M:%S} UTC, not reloaded")
    assert evaluated == set()

    rules = project / "seeds" / "gl_mapping_rules.csv"
    assert CHARGE_RULE in rules.read_text()
    rules.write_text(rules.read_text().replace(CHARGE_RULE, "reporting_category,charge,,,4100,", 1))
    credits, metadata, evaluated = close_the_day()
    assert credits == [("4100", -1_000)]
    assert "configuration" not in metadata and unique_codes in evaluated

    # One seed materialized alone (from the UI) loads only itself: nothing is recorded, so the next
    # run loads and tests them all.
    rules.write_text(rules.read_text().replace("reporting_category,charge,,,4100,", CHARGE_RULE, 1))
    dg.materialize([seeds], selection=[rules_key], instance=instance, resources=resources)
    assert query(warehouse, "select count(*) from information_schema.tables where table_name = 'configuration_loaded'") == [(0,)]
