"""The export guard inside Dagster: the latest evaluations of every blocking check on the ledger.

Blocking are the dbt tests on the journal marts and the payout links (the proofs; a test of severity
`warn` reports without blocking) and every other check of the code location declared
`blocking=True`: the Great Expectations suites and the accounting-configuration check. The seeds'
own dbt tests do not block: the accounting-configuration check proves the seeds an accountant
edits, naming file, line and values, and a seed failing its tests fails the seeds' step, so that
run builds no model on it. The checks
come from the code location, not from the run's job: an export run holds only the export assets,
and a run that materialized the ledger without its standalone checks must not count as proven.

From the instance, whatever run produced it, each check's latest evaluation must exist, have passed
and be no older than the latest materialization of the asset it checks: a proof of a ledger that
was rebuilt since proves nothing about the ledger being exported.

A check that fails with severity WARN reports without blocking: a dbt test of severity `warn`, or
a GX proof that could not evaluate some records (no Stripe balance snapshot) and found no failure.
"""

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster_dbt import get_asset_key_for_model

from exporters.close_package.status import FAILED, NOT_EVALUATED, PASSED, WARNED, ProofResult, ProofResults
from orchestration.defs.transform.assets import accounting_config_seeds, ledger_dbt_models
from orchestration.defs.transform.narrowing import LEFT_OUT_TAG

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
    dbt_checks = set(ledger_dbt_models.check_keys) | set(accounting_config_seeds.check_keys)
    chosen = {key for key in dbt_checks if key.asset_key in guarded}
    chosen |= {key for key in graph.asset_check_keys if key not in dbt_checks and graph.get_check_spec(key).blocking}
    return tuple(sorted(chosen, key=lambda key: (key.asset_key.to_user_string(), key.name)))


@functools.cache
def proof_descriptions() -> dict[dg.AssetCheckKey, str]:
    """What each blocking check proves and what to do when it fails, as the checks tab shows it."""
    graph = _asset_graph()
    return {key: graph.get_check_spec(key).description or "" for key in blocking_checks()}


@dataclass(frozen=True)
class ProofVerdict:
    """Where one blocking check stands: `state` is passed, failed, warning (failed with severity
    WARN: blocks nothing, e.g. records it could not evaluate), not evaluated or stale; `reason` says
    why it does not prove the ledger, `description` is the evaluation's own words, `evaluated_at`
    a Unix time (None when never evaluated)."""

    key: dg.AssetCheckKey
    state: str
    reason: str = ""
    description: str = ""
    evaluated_at: float | None = None
    # The run that planned the check and left it out, its inputs unchanged since this evaluation.
    left_out_by: str | None = None

    @property
    def name(self) -> str:
        return f"{self.key.asset_key.to_user_string()}:{self.key.name}"

    @property
    def blocks(self) -> bool:
        return self.state not in ("passed", "warning")


def proof_verdicts(instance: dg.DagsterInstance) -> list[ProofVerdict]:
    """The latest evaluation of every blocking check, judged against the ledger as it is now."""
    blocking = blocking_checks()
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(blocking))
    materializations = {asset: instance.get_latest_materialization_event(asset) for asset in {key.asset_key for key in blocking}}
    verdicts = []
    for key in blocking:
        record = records.get(key)
        left_out_by = record.run_id if record is not None and _left_out(instance, record) else None
        if left_out_by:
            earlier = instance.event_log_storage.get_asset_check_execution_history(key, limit=1, status=EVALUATED)
            record = earlier[0] if earlier else None
        if record is None or record.status == AssetCheckExecutionRecordStatus.PLANNED or record.event is None:
            verdicts.append(ProofVerdict(key, "not evaluated", "not evaluated"))
            continue
        evaluation = record.event.dagster_event.event_specific_data if record.event.dagster_event else None
        description = (evaluation.description if evaluation is not None else None) or ""
        if record.status == AssetCheckExecutionRecordStatus.FAILED:
            warning = evaluation is not None and evaluation.severity == dg.AssetCheckSeverity.WARN
            verdicts.append(ProofVerdict(key, "warning" if warning else "failed", "" if warning else "failed", description, record.event.timestamp,
                                         left_out_by))
            continue
        built = materializations[key.asset_key]
        # A check that ran in the run that last built its asset ran after it: dbt tests follow their model.
        if built is not None and record.run_id != built.run_id and record.event.timestamp < built.timestamp:
            stale = f"stale: evaluated in run {record.run_id}, before {key.asset_key.to_user_string()} was rebuilt in run {built.run_id}"
            verdicts.append(ProofVerdict(key, "stale", stale, description, record.event.timestamp, left_out_by))
            continue
        verdicts.append(ProofVerdict(key, "passed", "", description, record.event.timestamp, left_out_by))
    return verdicts


EVALUATED = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}


def _left_out(instance: dg.DagsterInstance, record) -> bool:
    """Whether the check was planned in a run of the models asset that left it out on purpose (its
    inputs unchanged since its last evaluation: transform/narrowing.py) and succeeded; a check a
    failed, running or untagged run did not evaluate is not evaluated."""
    if record.status != AssetCheckExecutionRecordStatus.PLANNED:
        return False
    run = instance.get_run_by_id(record.run_id)
    return run is not None and run.status == dg.DagsterRunStatus.SUCCESS and LEFT_OUT_TAG in run.tags


# How the close package words each state (exporters/close_package/status.py).
_PACKAGE_STATUS = {"passed": PASSED, "failed": FAILED, "warning": WARNED, "not evaluated": NOT_EVALUATED, "stale": NOT_EVALUATED}


def blocking_proof_results(instance: dg.DagsterInstance) -> ProofResults:
    """Every blocking check's latest evaluation, as the close package shows it: passed, FAILED, warning
    (severity WARN: blocks nothing), or not evaluated (never, or before its asset was last rebuilt)."""
    descriptions = proof_descriptions()
    results = []
    for verdict in proof_verdicts(instance):
        evaluated_at = None if verdict.evaluated_at is None else datetime.fromtimestamp(verdict.evaluated_at, timezone.utc).replace(tzinfo=None, microsecond=0)
        detail = {"not evaluated": "never evaluated on this Dagster instance", "stale": verdict.reason,
                  "failed": verdict.description, "warning": verdict.description}.get(verdict.state, "")
        results.append(ProofResult(verdict.name, descriptions[verdict.key], _PACKAGE_STATUS[verdict.state], evaluated_at, detail.strip()))
    return ProofResults(tuple(results))


def proofs_at_lock(warnings: Mapping[str, str]) -> ProofResults:
    """Every blocking check as a lock's own proof run left it, for the packages frozen with the lock.

    A lock refuses on any failing proof, so each passed, or warned (`warnings`, by check name: a dbt
    test of severity `warn` that found rows, a GX proof with records it could not evaluate). They carry
    no time: the lock stamps its own (`lock_with_packages`), so a locked package never shows the
    instance's later (or older, or absent) evaluations.
    """
    descriptions = proof_descriptions()
    return ProofResults(tuple(
        ProofResult(f"{key.asset_key.to_user_string()}:{key.name}", descriptions[key], WARNED if key.name in warnings else PASSED, None,
                    " ".join(warnings.get(key.name, "").split()))
        for key in blocking_checks()
    ))


def failing_blocking_checks(instance: dg.DagsterInstance) -> list[str]:
    """`asset:check (reason)` for every blocking check whose latest evaluation does not prove the ledger as it is."""
    return [f"{verdict.name} ({verdict.reason})" for verdict in proof_verdicts(instance) if verdict.blocks]


def require_passing_checks(context: dg.AssetExecutionContext) -> None:
    failing = failing_blocking_checks(context.instance)
    if failing:
        raise dg.Failure(
            description="Exports and pushes are blocked until the ledger's blocking checks pass. Failing: " + ", ".join(failing),
            metadata={"failing_checks": dg.MetadataValue.json(failing)},
        )
