"""The export guard inside Dagster: the latest results of the ledger's blocking checks.

Blocking are the dbt tests on the journal marts and the payout links (the proofs; a test of severity `warn` reports
without blocking) and every other check on those assets declared `blocking=True`. A blocking
check that failed, or has no result yet, stops every export and push asset with the checks named.
A check that fails with severity WARN reports without blocking: a dbt test of severity `warn`, or
a GX proof that could not evaluate some records (no Stripe balance snapshot) and found no failure.
"""

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster_dbt import get_asset_key_for_model

from orchestration.defs.transform.assets import ledger_dbt_models

GUARDED_MODELS = (
    "stg_stripe__payout_transactions", "fct_journal_lines", "fct_journal_line_sources", "fct_journal_source_records", "rpt_trial_balance",
)


def guarded_assets() -> list[dg.AssetKey]:
    return [get_asset_key_for_model([ledger_dbt_models], name) for name in GUARDED_MODELS]


def failing_blocking_checks(context: dg.AssetExecutionContext) -> list[str]:
    """`asset:check (reason)` for every blocking check on the journal assets that has not passed."""
    # The run's own graph may hold only the export asset; the proofs are known without it.
    graph = context.job_def.asset_layer.asset_graph
    guarded = set(guarded_assets())
    dbt_checks = {key for key in ledger_dbt_models.check_keys if key.asset_key in guarded}
    declared = {key for key in graph.asset_check_keys if key.asset_key in guarded and graph.get_check_spec(key).blocking}
    blocking = sorted(dbt_checks | declared, key=lambda key: (key.asset_key.to_user_string(), key.name))
    records = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(blocking)
    failing = []
    for key in blocking:
        record = records.get(key)
        name = f"{key.asset_key.to_user_string()}:{key.name}"
        if record is None or record.status == AssetCheckExecutionRecordStatus.PLANNED:
            failing.append(f"{name} (no result yet)")
        elif record.status == AssetCheckExecutionRecordStatus.FAILED:
            evaluation = record.event.dagster_event.event_specific_data if record.event and record.event.dagster_event else None
            if evaluation is None or evaluation.severity != dg.AssetCheckSeverity.WARN:
                failing.append(f"{name} (failed)")
    return failing


def require_passing_checks(context: dg.AssetExecutionContext) -> None:
    failing = failing_blocking_checks(context)
    if failing:
        raise dg.Failure(
            description="Exports and pushes are blocked until the ledger's blocking checks pass. Failing: " + ", ".join(failing),
            metadata={"failing_checks": dg.MetadataValue.json(failing)},
        )
