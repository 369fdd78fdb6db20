"""A whole close of a world with a manual and an instant payout, ingested with the stripe SDK over
HTTP from the sandbox API: the payouts land with the reason Stripe cannot itemize them, the proofs
pass (the payout proof covers automatic payouts only) and the ledger equals the ground truth.

The suite's close of the KWD world (tests/conftest.py: closed_kwd_world) has them, in USD.
"""

import duckdb
import pytest

from ledger.sources.stripe_records import not_itemizable_reason
from sandbox import stripe_objects
from sandbox.bank_deposits import plan_deposits
from sandbox.ground_truth import ground_truth

pytestmark = pytest.mark.e2e


def test_manual_and_instant_payouts_close_balanced_with_their_reasons(kwd_world, closed_kwd_world):
    world, settings, result = kwd_world, closed_kwd_world.settings, closed_kwd_world.result
    truth = ground_truth(world, plan_deposits(world))
    assert {(row.currency, row.account_code): row.balance_minor for row in result.trial_balance} == truth.gl_balances
    assert result.failed_checks == ()
    assert result.payouts == world.payouts.num_rows

    by_hand = sorted((p for p in world.payouts.to_pylist() if not p["automatic"]), key=lambda p: p["id"])
    expected = [
        (p["id"], p["method"], p["amount"], "paid", not_itemizable_reason(stripe_objects.payout(p, world.as_of))) for p in by_hand
    ]
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        staged = connection.execute(
            "select payout_id, payout_method, amount_minor, payout_status, not_itemizable_reason "
            "from stg_stripe__payouts where not is_automatic order by payout_id"
        ).fetchall()
        listed = connection.execute(
            "select count(*) from raw.stripe_payout_transactions where payout_id in (select id from raw.stripe_payouts where not automatic)"
        ).fetchone()[0]
        arrivals = dict(connection.execute(
            "select source_id, sum(amount_minor) from fct_journal_line_sources "
            "where source_kind = 'payout_arrival' and line_role = 'bank' group by source_id"
        ).fetchall())
    assert staged == expected
    assert {reason.split(":")[0] for *_, reason in staged} == {"manual payout", "instant payout"}
    assert listed == 0
    # Both reached the bank in full, matched to their deposits like any other payout.
    assert {p["id"]: arrivals.get(p["id"]) for p in by_hand} == {p["id"]: p["amount"] for p in by_hand}
