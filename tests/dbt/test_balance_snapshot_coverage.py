"""The clearing = Stripe balance proof on a ledger no balance snapshot covers, by a real dbt build.

Ingestion records Stripe's balance only when the window reaches the moment it was read (now), so a
first backfill of an earlier month has no snapshot to compare the Stripe-clearing account with. That
proof is then not evaluated, and says so as a warning naming the last day of the ledger; it is not
a failure, not a pass and not a comparison with zero. Where a snapshot exists, a difference still
fails the build.
"""

from datetime import datetime

import pytest

from exporters.guard import run_ledger_proofs
from ledger.checks.suites import suite_named
from ledger.checks.validate import run_suites
from ledger.dbt_build import LedgerBuildFailed, culprit_rows
from tests.dbt.builders import build, compiled_test_sql, land, statuses, transaction, ts

NOT_COVERED = "snapshot_covers_ledger"
CLEARING_PROOF = "clearing_equals_stripe_balance"
NOVEMBER = [
    transaction("txn_nov_first", "charge", "charge", 10_000, fee=320, created=ts("2026-11-02")),
    transaction("txn_nov_last", "charge", "charge", 2_550, fee=104, created=ts("2026-11-29", 23)),
    transaction("txn_nov_eur", "charge", "charge", 7_000, fee=230, currency="eur", created=ts("2026-11-03")),
]


def results_by_name(run: dict) -> dict[str, dict]:
    return {result["unique_id"].split(".")[2]: result for result in run["results"]}


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory):
    """November landed, as a backfill of November leaves it: transactions, no balance snapshot."""
    path = tmp_path_factory.mktemp("backfill") / "warehouse.duckdb"
    land(path, transactions=NOVEMBER)
    return path, build(path)


def test_a_ledger_without_a_snapshot_warns_that_the_proof_is_not_evaluated(backfilled):
    path, run = backfilled
    outcome = statuses(run)
    assert outcome[CLEARING_PROOF] == "pass"
    assert outcome[NOT_COVERED] == "warn"
    assert results_by_name(run)[NOT_COVERED]["failures"] == 2
    rows = culprit_rows(path, compiled_test_sql(path, NOT_COVERED))
    assert sorted((row["entity_id"], row["currency"], str(row["ledger_through"]), row["stripe_clearing_minor"], row["problem"]) for row in rows) == [
        ("main", "eur", "2026-11-03", 6_770,
         "not evaluated: no Stripe balance snapshot covers 2026-11-03; run up to now or use the roll-forward"),
        ("main", "usd", "2026-11-29", 12_126,
         "not evaluated: no Stripe balance snapshot covers 2026-11-29; run up to now or use the roll-forward"),
    ]


def test_the_roll_forward_proof_still_runs_and_passes(backfilled):
    _, run = backfilled
    assert statuses(run)["assert_stripe_balance_rolls_forward"] == "pass"


def test_the_gx_suites_say_not_evaluated_rather_than_passed(backfilled):
    path, _ = backfilled
    for name in ("stripe_clearing_equals_stripe_balance", "stripe_balance_equals_snapshot"):
        [result] = run_suites(path, (suite_named(name),))
        assert result.success and result.rows_validated == 0 and not result.evaluated, name
        assert result.not_evaluated == (
            "main eur: not evaluated: no Stripe balance snapshot covers 2026-11-03; run up to now or use the roll-forward",
            "main usd: not evaluated: no Stripe balance snapshot covers 2026-11-29; run up to now or use the roll-forward",
        ), name
        assert "passed" not in result.describe() and result.describe().startswith(f"{name}: not evaluated"), name


def test_a_snapshot_that_covers_the_ledger_makes_the_warning_go(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    land(path, transactions=NOVEMBER, balance={"available": [{"amount": 12_126, "currency": "usd"}, {"amount": 6_770, "currency": "eur"}]},
         as_of=datetime(2026, 11, 30))
    outcome = statuses(build(path))
    assert (outcome[CLEARING_PROOF], outcome[NOT_COVERED]) == ("pass", "pass")
    [result] = run_suites(path, (suite_named("stripe_clearing_equals_stripe_balance"),))
    assert result.evaluated and result.success and result.rows_validated == 2 and result.not_evaluated == ()


def test_a_mismatch_where_a_snapshot_exists_still_fails(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    land(path, transactions=NOVEMBER, balance={"available": [{"amount": 12_125, "currency": "usd"}, {"amount": 6_770, "currency": "eur"}]},
         as_of=datetime(2026, 11, 30))
    with pytest.raises(LedgerBuildFailed) as failed:
        build(path)
    [clearing] = [node for node in failed.value.failures if node.name.endswith(CLEARING_PROOF)]
    assert [(row["account_code"], row["currency"], row["ledger_minor"], row["stripe_minor"], row["difference_minor"]) for row in clearing.culprits] == [
        ("1010", "usd", 12_126, 12_125, 1),
    ]
    [result] = run_suites(path, (suite_named("stripe_clearing_equals_stripe_balance"),))
    assert not result.success and [(c["entity_id"], c["currency"]) for c in result.culprits] == [("main", "usd")]


def test_the_cli_export_guard_lets_a_ledger_without_a_snapshot_through(backfilled):
    """`stripe-close export` runs the proofs itself (exporters.guard): the warning is not a failure."""
    path, _ = backfilled
    assert run_ledger_proofs(path) == []
