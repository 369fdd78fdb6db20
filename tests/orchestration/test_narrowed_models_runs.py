"""The hourly schedule's runs of the dbt models asset cost what the hour brought: after a complete
run, a windowed run builds and proves only what the changed sources reach (transform/narrowing.py),
and the export guard tells a check that run left out (its last evaluation stands, its asset not
rebuilt since) from one a run planned and did not evaluate (not evaluated, never passed)."""

import dagster as dg

from orchestration.defs.export.guard import proof_verdicts
from orchestration.defs.transform.assets import ledger_dbt_models
from orchestration.defs.transform.narrowing import LEFT_OUT_TAG
from tests.dbt.test_continuous_proofs import planted_late_fact
from tests.orchestration.test_export_guard import DAY, build_ledger, resources  # noqa: F401 (the fixture)


def built(result: dg.ExecuteInProcessResult) -> set[str]:
    return {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}


def evaluated(result: dg.ExecuteInProcessResult) -> set[str]:
    return {f"{e.asset_key.to_user_string()}:{e.check_name}" for e in result.get_asset_check_evaluations()}


def test_a_windowed_run_leaves_out_what_did_not_change_and_the_guard_reads_the_last_evaluation_of_what_it_left_out(resources):  # noqa: F811
    instance = dg.DagsterInstance.ephemeral()
    complete = build_ledger(instance, resources)
    narrowed = build_ledger(instance, resources)

    assert LEFT_OUT_TAG not in instance.get_run_by_id(complete.run_id).tags
    left_out = int(instance.get_run_by_id(narrowed.run_id).tags[LEFT_OUT_TAG])
    # Nothing landed between the two: only what reads the period-close tables or the clock runs again.
    assert "stg_stripe__disputes" in built(complete) and "stg_stripe__disputes" not in built(narrowed)
    assert "stg_stripe__payout_transactions" not in built(narrowed)
    assert {"fct_journal_lines", "rpt_trial_balance"} <= built(narrowed)
    assert len(built(narrowed)) < len(built(complete)) - 10
    assert len(evaluated(narrowed)) < len(evaluated(complete)) - 40 and left_out > 40

    verdicts = {verdict.name: verdict for verdict in proof_verdicts(instance)}
    kept = {name: verdict for name, verdict in verdicts.items() if verdict.left_out_by}
    assert kept and {verdict.left_out_by for verdict in kept.values()} == {narrowed.run_id}
    # Only the checks of what the run did not rebuild: a rebuilt model's checks all ran.
    assert {name.split(":")[0] for name in kept} <= {"stg_stripe__payout_transactions"}
    # Their evaluation is the complete run's, on the same rows: it stands.
    assert {(verdict.state, verdict.evaluated_at is not None) for verdict in kept.values()} == {("passed", True)}
    assert set(kept) <= evaluated(complete) - evaluated(narrowed)
    assert verdicts["fct_journal_lines:journal_balances"].state == "passed"
    assert verdicts["fct_journal_lines:journal_balances"].left_out_by is None

    # A fault on a late day: the run fails. What it planned and did not evaluate is not evaluated,
    # even where the run left it out and an earlier run passed it.
    planted_late_fact(resources["warehouse"].file)
    failed = dg.materialize([ledger_dbt_models], partition_key=DAY, instance=instance, resources=resources, raise_on_error=False)
    assert not failed.success
    assert LEFT_OUT_TAG in instance.get_run_by_id(failed.run_id).tags
    after = {verdict.name: verdict for verdict in proof_verdicts(instance)}
    assert after["fct_journal_lines:journal_balances"].state == "failed"
    not_run = {name for name, verdict in verdicts.items() if verdict.state == "passed" and name not in evaluated(failed)}
    assert not_run & set(kept)
    assert {after[name].state for name in not_run} == {"not evaluated"}
