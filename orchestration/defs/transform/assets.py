"""The dbt project as Dagster assets and checks: the accounting configuration (the seeds) and the
models (staging, intermediate, marts), each with their data tests.

The seeds are one unpartitioned asset definition (`accounting_config_seeds`): a chart of accounts
or a mapping rule holds for every day, so it has no per-day partitions to show or to backfill. Dagster
lets one run hold unpartitioned assets beside assets of one partitions definition, so every job that
builds the ledger selects both: the seeds load first (the models depend on them), then the models
for the run's days, and a partitioned close always reads the seed files as they are now. A
materialization of the models alone reads the seeds as last loaded.

The models are daily-partitioned like ingestion: a run for some days passes their window to dbt as the settings
CLOSE_WINDOW_START / CLOSE_WINDOW_END (YYYY-MM-DD accounting days, end exclusive), which the
incremental models use to rebuild only those days; a run without a partition passes them empty and
every model builds in full. Settings, not dbt `--vars`: new vars make dbt parse the whole project
again, a new window in the environment keeps its partial parse (about 2.7 s less per run).
"""

import os
import shutil
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from ledger import accounting_config, dbt_seeds, dbt_window_selection, progress
from ledger.dbt_build import CloseWindow, recordable_configuration, window_settings
from orchestration import groups
from orchestration.dbt_test_descriptions import describe_test
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.transform.narrowing import LEFT_OUT_TAG, plan_models_build
from orchestration.defs.transform.project import dbt_project
from orchestration.finance_metadata import with_dbt_metadata
from orchestration.partitions import daily_partitions


class LedgerTranslator(DagsterDbtTranslator):
    """Groups dbt nodes by the folder they live in (seeds, staging, the ledger, the bank
    reconciliation's marts) and describes every test in words (`dbt_test_descriptions`)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return groups.ACCOUNTING_CONFIG
        folders = [*dbt_resource_props.get("fqn", ["", "marts"])[1:-1], "", ""]
        if folders[0] == "staging":
            return groups.STAGING
        # The bank matching models feed the journal (a matched deposit moves cash to the bank):
        # they are ledger; the reconciliation's marts read them, to the right of it.
        if folders[0] == "marts" and folders[1] == "banking" or dbt_resource_props["name"] == "rpt_payout_reconciliation":
            return groups.RECONCILIATION
        return groups.LEDGER

    def get_asset_check_spec(self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return spec._replace(description=describe_test(manifest["nodes"][unique_id]))


# Each selection takes the tests dbt's indirect selection attaches to it: the models' (eager) every test
# that reads a model, those that also read a seed included (an account missing from the chart); the
# seeds' (cautious, set when they build) only the tests that read seeds alone, since a test that reads
# a model too cannot run before the models are built.
SEEDS, MODELS = "resource_type:seed", "resource_type:model"


def dbt_project_assets(project: DbtProject) -> tuple[dg.AssetsDefinition, dg.AssetsDefinition]:
    """The seeds and the models of `project`, as two asset definitions (the code location's: of `dbt_project`)."""

    @dbt_assets(manifest=project.manifest_path, project=project, dagster_dbt_translator=LedgerTranslator(), pool="duckdb", select=SEEDS)
    def accounting_config_seeds(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
        """Loads the accounting configuration with `dbt build`: the seeds, and their data tests as asset
        checks; or, when the warehouse already holds this configuration, says since when and loads nothing."""
        require_valid_configuration(dbt)
        configuration = recordable_configuration(warehouse.file, project_dir=Path(dbt.project_dir))
        since = dbt_seeds.loaded_since(warehouse.file, configuration) if configuration else None
        if since:
            yield from unchanged_configuration(context, since)
            return
        yield from _dbt_build(context, dbt, warehouse, {"DBT_INDIRECT_SELECTION": "cautious"}, "accounting configuration")
        # A subset (one seed materialized from the UI, or the seeds without their tests) loaded or
        # tested only part of what the fingerprint covers.
        if configuration is not None and not context.is_subset:
            dbt_seeds.record_loaded(warehouse.file, configuration)

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=LedgerTranslator(),
        pool="duckdb",
        select=MODELS,
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def ledger_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
        """Builds the ledger with `dbt build`: the models, and every data test as an asset check; a
        windowed run after a complete one only what the sources that changed since reach (narrowing)."""
        window = run_window(context)
        build = plan_models_build(context, warehouse.file, Path(dbt.project_dir), window)
        if build.left_out:
            context.instance.add_run_tags(context.run_id, {LEFT_OUT_TAG: str(build.left_out)})
            context.log.info(f"{build.left_out} models and tests left out: their inputs are unchanged since the last complete build")
        yield from _dbt_build(context, dbt, warehouse, {**window_settings(window), **build.settings}, "dbt build", build.arguments, build.left_out)
        if build.plan is not None:
            dbt_window_selection.record(warehouse.file, build.plan.fingerprint, build.plan.reading)

    return accounting_config_seeds, ledger_dbt_models


accounting_config_seeds, ledger_dbt_models = dbt_project_assets(dbt_project)


def _dbt_build(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, settings: dict[str, str], step: str,
               arguments: Sequence[str] = (), left_out: int = 0):
    # dagster-dbt starts dbt with this process's environment, as it is when `cli` is called. dbt's
    # lines go to the run's log (the UI, a CLI command's log file), never a terminal: no color codes.
    with mock.patch.dict(os.environ, {**settings, "DBT_USE_COLORS": "false"}):
        invocation = dbt.cli(["build", *arguments], context=context)
    # One event per model, seed and test as dbt finishes it: counted live, before the metadata holds them back.
    nodes = progress.step("dbt", "node", len(context.selected_asset_keys) + len(context.selected_asset_check_keys) - left_out, step)
    yield from with_dbt_metadata(context, progress.counted(invocation.stream(), nodes), warehouse.file, invocation.target_path)
    # Each invocation has its own target folder (compiled SQL, a 1.4 MB manifest, the partial parse):
    # kept after a failure to read, removed after a success, or an hourly close would fill the disk.
    shutil.rmtree(invocation.target_path, ignore_errors=True)


def unchanged_configuration(context: dg.AssetExecutionContext, since: datetime):
    """A materialization of each seed that says it was not reloaded. Its tests are not run, so they
    report nothing here (their last evaluation stands), never a pass."""
    note = f"unchanged since {since:%Y-%m-%d %H:%M:%S} UTC, not reloaded"
    context.log.info(f"accounting configuration {note}")
    for key in sorted(context.selected_asset_keys):
        yield dg.MaterializeResult(asset_key=key, metadata={"configuration": note})


def require_valid_configuration(dbt: DbtCliResource) -> None:
    """Stop before dbt when a seed row is wrong, naming its file, line and values: dbt's own seed
    tests would fail the build too, but report only a test name and a count."""
    try:
        accounting_config.validate(Path(dbt.project_dir) / "seeds")
    except accounting_config.AccountingConfigError as invalid:
        raise dg.Failure(description=str(invalid), metadata={"problems": dg.MetadataValue.json(invalid.problems)}) from None


def run_window(context: dg.AssetExecutionContext) -> CloseWindow | None:
    """The run's accounting days, or None for a run without a partition."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    window = context.partition_time_window
    return CloseWindow(window.start.date(), window.end.date())
