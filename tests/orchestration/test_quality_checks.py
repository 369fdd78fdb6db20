"""The GX proofs as Dagster asset checks: blocking, on the journal the exports read, naming culprits."""

import dagster as dg
import duckdb

from orchestration.defs.quality.checks import JOURNAL, MAPPING_RULES, accounting_configuration_is_valid, gx_proofs
from orchestration.defs.resources import WarehouseResource
from tests.dbt.builders import copy_ledger, small_world_ledger


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
