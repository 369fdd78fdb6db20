"""The dbt models (staging, intermediate, marts) and their data tests, as Dagster assets and checks.

Daily-partitioned like ingestion: a run for some days passes their window to dbt as the settings
CLOSE_WINDOW_START / CLOSE_WINDOW_END (YYYY-MM-DD accounting days, end exclusive), which the
incremental models use to rebuild only those days; a run without a partition passes them empty and
every model builds in full. Settings, not dbt `--vars`: new vars make dbt parse the whole project
again, a new window in the environment keeps its partial parse (about 2.7 s less per run).
"""

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from ledger import accounting_config, progress
from ledger.dbt_build import CloseWindow, window_settings
from orchestration import groups
from orchestration.dbt_test_descriptions import describe_test
from orchestration.defs.resources import WarehouseResource
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


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=LedgerTranslator(),
    pool="duckdb",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def ledger_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Builds the ledger with `dbt build`: models, seeds, and every data test as an asset check."""
    require_valid_configuration(dbt)
    # dagster-dbt starts dbt with this process's environment, as it is when `cli` is called. dbt's
    # lines go to the run's log (the UI, a CLI command's log file), never a terminal: no color codes.
    with mock.patch.dict(os.environ, {**window_settings(run_window(context)), "DBT_USE_COLORS": "false"}):
        invocation = dbt.cli(["build"], context=context)
    # One event per model, seed and test as dbt finishes it: counted live, before the metadata holds them back.
    nodes = progress.step("dbt", "node", len(context.selected_asset_keys) + len(context.selected_asset_check_keys), "dbt build")
    yield from with_dbt_metadata(context, progress.counted(invocation.stream(), nodes), warehouse.file, invocation.target_path)
    # Each invocation has its own target folder (compiled SQL, a 1.4 MB manifest, the partial parse):
    # kept after a failure to read, removed after a success, or an hourly close would fill the disk.
    shutil.rmtree(invocation.target_path, ignore_errors=True)


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
