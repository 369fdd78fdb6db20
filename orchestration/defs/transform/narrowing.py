"""What the `ledger_dbt_models` asset leaves out of a windowed run: the rule of `ledger.dbt_build`
(ledger.dbt_window_selection), so the hourly schedule's runs cost what the hour brought.

After a complete build by this asset (every model and test, or narrowed by the same rule, and
succeeded), a partitioned run runs only the models downstream of the sources that received rows
since, with every test that reads them. Dagster selects the run's assets itself, so the rest are
named to dbt as `--exclude`. The checks Dagster planned for them are not evaluated in that run:
the run is tagged LEFT_OUT_TAG, and the export guard (defs/export/guard.py) then reads each such
check's latest evaluation, made on the same inputs (their asset was not rebuilt since), rather
than taking it for a check the run failed to evaluate.

The record of a complete build is the asset's own (runner "dagster"): a build by `build_ledger` or
by hand leaves no check evaluations in Dagster, so it never lets this asset leave a check out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from ledger import dbt_seeds, dbt_window_selection
from ledger.dbt_build import CloseWindow, parse_ledger, window_settings

RUNNER = "dagster"
# On a run that left checks out because their inputs had not changed: how many.
LEFT_OUT_TAG = "stripe_close/checks_left_out"


@dataclass(frozen=True)
class ModelsBuild:
    """The plan of one run of the models asset: None for a run of picked assets (built as picked,
    recorded as no complete build); when narrowed, the models it leaves out and the tests it runs
    (by dbt name) and how many of the asset's models and tests it leaves out."""

    plan: dbt_window_selection.Plan | None
    models_left_out: tuple[str, ...] = ()
    tests_run: tuple[str, ...] = ()
    left_out: int = 0

    @property
    def arguments(self) -> list[str]:
        # dbt's indirect selection also drops, with an excluded model, every test that reads it
        # (a proof of the journal that also reads the unchanged staging of payouts): so none is
        # indirect (`settings`), the models are dagster-dbt's own selection less those left out,
        # and the tests are named. One value each: dagster-dbt reads one word after each flag.
        if not self.left_out:
            return []
        return ["--select", " ".join(self.tests_run), "--exclude", " ".join(self.models_left_out)]

    @property
    def settings(self) -> dict[str, str]:
        return {"DBT_INDIRECT_SELECTION": "empty"} if self.left_out else {}


def plan_models_build(context: dg.AssetExecutionContext, warehouse_file: Path, project_dir: Path, window: CloseWindow | None) -> ModelsBuild:
    if context.is_subset:
        return ModelsBuild(None)
    manifest, settings = parse_ledger(warehouse_file, window_settings(window), project_dir)
    configuration_loaded = dbt_seeds.loaded_fingerprint(warehouse_file) == dbt_seeds.configuration_fingerprint(manifest)
    plan = dbt_window_selection.plan(warehouse_file, manifest, settings, window is not None, configuration_loaded, RUNNER)
    if plan.changed is None:
        return ModelsBuild(plan)
    runs = dbt_window_selection.selected_nodes(manifest, plan.changed)
    models = [node for node in manifest.nodes.values() if node.resource_type == "model"]
    # The tests of seeds alone are the seeds asset's: never in this asset's runs.
    tests = [node for node in manifest.nodes.values() if node.resource_type == "test"
             and any(parent.startswith(("model.", "source.")) for parent in node.depends_on.nodes)]
    return ModelsBuild(
        plan,
        models_left_out=tuple(sorted(node.name for node in models if node.unique_id not in runs)),
        tests_run=tuple(sorted(node.name for node in tests if node.unique_id in runs)),
        left_out=sum(node.unique_id not in runs for node in [*models, *tests]),
    )
