"""The GX proofs as Dagster asset checks: blocking, on the journal the exports read, naming culprits."""

import dagster as dg
import duckdb

from orchestration.defs.export.guard import failing_blocking_checks
from orchestration.defs.quality.checks import JOURNAL, MAPPING_RULES, accounting_configuration_is_valid, gx_proofs
from orchestration.defs.resources import WarehouseResource
from tests.dbt.builders import build, copy_ledger, land, small_world_ledger, transaction, ts


def test_every_proof_blocks_the_journal_and_the_configuration_check_blocks_the_mapping():
    specs = [spec for check in gx_proofs for spec in check.check_specs]
    assert len(specs) == 7
    assert all(spec.blocking and spec.asset_key == JOURNAL for spec in specs)
    [config_spec] = accounting_configuration_is_valid.check_specs
    assert config_spec.blocking and config_spec.asset_key == MAPPING_RULES


def test_a_failing_proof_names_the_culprit_and_stops_what_reads_the_journal(tmp_path):
    path = copy_ledger(small_world_ledger(), tmp_path)
    with duckdb.connect(str(path)) as connection:
        [(payout_id,)] = connection.execute(
            "select payout_id from raw.stripe_payout_transactions order by balance_transaction_id limit 1").fetchall()
        connection.execute(f"""
            delete from raw.stripe_payout_transactions_landed where balance_transaction_id =
                (select min(balance_transaction_id) from raw.stripe_payout_transactions where payout_id = '{payout_id}'
                 and balance_transaction_id not in (select balance_transaction_id from raw.stripe_payouts where balance_transaction_id is not null))""")

    # The ledger is already built in the file; this stand-in only gives the checks their asset in the
    # run, so the test exercises the real checks and Dagster's blocking, not dbt (tests/e2e does).
    @dg.asset(key=JOURNAL)
    def journal() -> None:
        """Stand-in for the dbt-built journal."""

    export_ran = []

    @dg.asset(deps=[journal])
    def export() -> None:
        """Stand-in for an export of the journal."""
        export_ran.append(True)

    result = dg.materialize(
        [journal, export, *gx_proofs], resources={"warehouse": WarehouseResource(path=str(path))},
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
    )
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert {name for name, e in evaluations.items() if not e.passed} == {"gx_automatic_payouts_tie_out"}
    culprits = evaluations["gx_automatic_payouts_tie_out"].metadata["culprits"].value
    assert [c["payout_id"] for c in culprits] == [payout_id]
    assert export_ran == []


def test_a_proof_without_a_snapshot_warns_not_evaluated_and_blocks_nothing(tmp_path):
    """A ledger no Stripe balance snapshot covers (a backfill of an earlier month): the two snapshot
    proofs are not evaluated, shown as warnings naming the entity, currency and day, never as passed;
    neither Dagster nor the export guard treats them as failures."""
    path = tmp_path / "warehouse.duckdb"
    land(path, transactions=[transaction("txn_backfilled", "charge", "charge", 10_000, fee=320, created=ts("2026-11-03"))])
    build(path)

    @dg.asset(key=JOURNAL)
    def journal() -> None:
        """Stand-in for the dbt-built journal."""

    guard_saw = []

    @dg.asset(deps=[journal])
    def export(context: dg.AssetExecutionContext) -> None:
        """Stand-in for an export of the journal, asking the export guard what blocks it."""
        guard_saw.extend(failing_blocking_checks(context.instance))

    result = dg.materialize(
        [journal, export, *gx_proofs], resources={"warehouse": WarehouseResource(path=str(path))},
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
    )
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    not_evaluated = "main usd: not evaluated: no Stripe balance snapshot covers 2026-11-03; run up to now or use the roll-forward"
    for name in ("gx_stripe_clearing_equals_stripe_balance", "gx_stripe_balance_equals_snapshot"):
        evaluation = evaluations[name]
        assert (evaluation.passed, evaluation.severity) == (False, dg.AssetCheckSeverity.WARN), name
        assert evaluation.description == f"{name.removeprefix('gx_')}: not evaluated for {not_evaluated}", name
        assert evaluation.metadata["not_evaluated"].value == [not_evaluated], name
    assert all(e.passed for name, e in evaluations.items() if name not in ("gx_stripe_clearing_equals_stripe_balance", "gx_stripe_balance_equals_snapshot"))
    assert result.success
    # The guard still waits for the dbt proofs (no result in this run), but not for the warnings.
    assert guard_saw and not [entry for entry in guard_saw if entry.startswith("fct_journal_lines:gx_")]
