"""The export guard inside Dagster: the latest evaluations of every blocking check on the ledger.

Blocking are the dbt tests on the journal marts and the payout links (the proofs; a test of severity
`warn` reports without blocking) and every other check of the code location declared
`blocking=True`: the Great Expectations suites and the accounting-configuration check. The checks
come from the code location, not from the run's job: an export run holds only the export assets,
and a run that materialized the ledger without its standalone checks must not count as proven.

From the instance, whatever run produced it, each check's latest evaluation must exist, have passed
and be no older than the latest materialization of the asset it checks: a proof of a ledger that
was rebuilt since proves nothing about the ledger being exported.

A check that fails with severity WARN reports without blocking: a dbt test of severity `warn`, or
a GX proof that could not evaluate some records (no Stripe balance snapshot) and found no failure.
"""

import functools
from datetime import datetime, timezone

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster_dbt import get_asset_key_for_model

from exporters.close_package.status import FAILED, NOT_EVALUATED, PASSED, WARNED, ProofResult, ProofResults
from orchestration.defs.transform.assets import ledger_dbt_models

GUARDED_MODELS = (
    "stg_stripe__payout_transactions", "fct_journal_lines", "fct_journal_line_sources", "fct_journal_source_records", "rpt_trial_balance",
)


def guarded_assets() -> list[dg.AssetKey]:
    return [get_asset_key_for_model([ledger_dbt_models], name) for name in GUARDED_MODELS]


@functools.cache
def _asset_graph():
    # Imported here: the code location loads this module while it is being defined.
    from orchestration.definitions import defs

    return defs().resolve_asset_graph()


@functools.cache
def blocking_checks() -> tuple[dg.AssetCheckKey, ...]:
    """The dbt proofs on the guarded models and every other blocking check of the code location."""
    graph = _asset_graph()
    guarded = set(guarded_assets())
    dbt_checks = set(ledger_dbt_models.check_keys)
    chosen = {key for key in dbt_checks if key.asset_key in guarded}
    chosen |= {key for key in graph.asset_check_keys if key not in dbt_checks and graph.get_check_spec(key).blocking}
    return tuple(sorted(chosen, key=lambda key: (key.asset_key.to_user_string(), key.name)))


def blocking_proof_results(instance: dg.DagsterInstance) -> ProofResults:
    """Every blocking check's latest evaluation, as the close package shows it: passed, FAILED, warning
    (severity WARN: blocks nothing), or not evaluated (never, or before its asset was last rebuilt)."""
    blocking = blocking_checks()
    graph = _asset_graph()
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(blocking))
    materializations = {asset: instance.get_latest_materialization_event(asset) for asset in {key.asset_key for key in blocking}}
    results = []
    for key in blocking:
        record = records.get(key)
        asset = key.asset_key.to_user_string()
        name, description = f"{asset}:{key.name}", graph.get_check_spec(key).description or ""
        if record is None or record.status == AssetCheckExecutionRecordStatus.PLANNED or record.event is None:
            results.append(ProofResult(name, description, NOT_EVALUATED, None, "never evaluated on this Dagster instance"))
            continue
        evaluated_at = datetime.fromtimestamp(record.event.timestamp, timezone.utc).replace(tzinfo=None, microsecond=0)
        evaluation = record.event.dagster_event.event_specific_data if record.event.dagster_event else None
        said = (getattr(evaluation, "description", None) or "").strip()
        failed = record.status == AssetCheckExecutionRecordStatus.FAILED
        if failed and (evaluation is None or evaluation.severity != dg.AssetCheckSeverity.WARN):
            results.append(ProofResult(name, description, FAILED, evaluated_at, said))
            continue
        built = materializations[key.asset_key]
        # A check that ran in the run that last built its asset ran after it: dbt tests follow their model.
        if built is not None and record.run_id != built.run_id and record.event.timestamp < built.timestamp:
            results.append(ProofResult(name, description, NOT_EVALUATED, evaluated_at,
                                       f"stale: evaluated in run {record.run_id}, before {asset} was rebuilt in run {built.run_id}"))
        else:
            results.append(ProofResult(name, description, WARNED if failed else PASSED, evaluated_at, said if failed else ""))
    return ProofResults(tuple(results))


def failing_blocking_checks(instance: dg.DagsterInstance) -> list[str]:
    """`asset:check (reason)` for every blocking check whose latest evaluation does not prove the ledger as it is."""
    failing = []
    for result in blocking_proof_results(instance).results:
        if result.status == FAILED:
            failing.append(f"{result.name} (failed)")
        elif result.status == NOT_EVALUATED:
            failing.append(f"{result.name} ({'not evaluated' if result.evaluated_at is None else result.detail})")
    return failing


def require_passing_checks(context: dg.AssetExecutionContext) -> None:
    failing = failing_blocking_checks(context.instance)
    if failing:
        raise dg.Failure(
            description="Exports and pushes are blocked until the ledger's blocking checks pass. Failing: " + ", ".join(failing),
            metadata={"failing_checks": dg.MetadataValue.json(failing)},
        )
