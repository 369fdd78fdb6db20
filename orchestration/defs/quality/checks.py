"""The GX proofs and the accounting-configuration check, as blocking Dagster asset checks.

Every proof hangs off `fct_journal_lines`, the asset the exports read, so a failing proof stops
every export downstream of the ledger. A failing check's metadata names the records that break it.
A proof with records it could not evaluate (no Stripe balance snapshot covers the ledger) and no
failure is a warning naming them: not passed, and not a failure that blocks.
"""

from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, get_asset_key_for_model

from ledger import accounting_config
from ledger.checks.suites import SUITES, Suite
from ledger.checks.validate import run_suites
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.transform.assets import ledger_dbt_models

JOURNAL = get_asset_key_for_model([ledger_dbt_models], "fct_journal_lines")
MAPPING_RULES = dg.AssetKey(["accounting", "gl_mapping_rules"])
# What a person does when a proof fails, shown in the checks tab after what the proof proves.
WHEN_FAILING = {
    "balance_transactions_booked_once": "the culprits name the transactions; run the ledger again for their days, and report it if it persists",
    "journal_entries_balance": "the culprits name the entries; exports are blocked; check a recent change to the mapping seeds, then run the ledger again",
    "trial_balance_sums_to_zero": "exports are blocked; see the journal entries proof, which names the entries, then run the ledger again",
    "stripe_balance_rolls_forward": "the culprits name account, currency and month; ingest that month again, then compare with Stripe's balance summary report",
    "stripe_balance_equals_snapshot": "ingest again up to now (late transactions before the snapshot), and report it if it persists",
    "automatic_payouts_tie_out": "the culprits name the payout and the difference; ingest its days again, then compare with Stripe's payout reconciliation report",
    "stripe_clearing_equals_stripe_balance": "the culprits name entity, currency and difference; ingest again up to now, and report it if it persists",
}


def gx_proof_check(suite: Suite) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=JOURNAL, name=f"gx_{suite.name}", description=f"{suite.description} When it fails: {WHEN_FAILING[suite.name]}.",
        blocking=True, pool="duckdb",
    )
    def proof(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        [result] = run_suites(warehouse.file, (suite,))
        return dg.AssetCheckResult(
            passed=result.success and result.evaluated,
            severity=dg.AssetCheckSeverity.ERROR if not result.success else dg.AssetCheckSeverity.WARN,
            description=result.describe(),
            metadata={
                "rows_validated": result.rows_validated,
                "failed_expectations": dg.MetadataValue.json(list(result.failed_expectations)),
                "culprits": dg.MetadataValue.json(list(result.culprits)),
                "not_evaluated": dg.MetadataValue.json(list(result.not_evaluated)),
            },
        )

    return proof


gx_proofs = [gx_proof_check(suite) for suite in SUITES]


@dg.asset_check(
    asset=MAPPING_RULES, blocking=True,
    description="Every mapping rule names known accounts, and no key has two rules. When it fails: the problems name the seed "
    "file, line and values; fix them in dbt_project/seeds, then run the ledger again.",
)
def accounting_configuration_is_valid(dbt: DbtCliResource) -> dg.AssetCheckResult:
    problems = accounting_config.problems(Path(dbt.project_dir) / "seeds")
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"problems": dg.MetadataValue.json(problems)},
    )
