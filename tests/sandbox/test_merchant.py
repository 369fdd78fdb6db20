from collections import Counter, defaultdict

import pyarrow.compute as pc
import pytest

from sandbox import stripe_objects
from sandbox.merchant import FAILED_PAYOUT_DAY, DAY, PAYOUTS_BY_HAND, WorldSpec, simulate


def test_same_spec_gives_the_same_world(small_world):
    again = simulate(small_world.spec)
    assert again.balance_transactions.equals(small_world.balance_transactions)
    assert again.payouts.equals(small_world.payouts)


def test_another_seed_gives_another_world(small_world):
    other = simulate(WorldSpec(seed=12, days=12, transactions_per_day=30))
    assert other.balance_transactions.column("id").to_pylist() != small_world.balance_transactions.column("id").to_pylist()


def test_every_special_case_happens_once(small_world):
    events = Counter(small_world.balance_transactions.column("event").to_pylist())
    for event in ("partial_capture_reversal", "dispute", "dispute_reversal", "payout_failure", "tax_fee"):
        assert events[event] == 1, event
    assert events["stripe_fee"] == 3  # one Radar fee per currency
    assert events["charge"] > 300 and events["refund"] > 10


def test_amounts_follow_stripe_sign_rules(small_world):
    for row in small_world.balance_transactions.to_pylist():
        assert row["net"] == row["amount"] - row["fee"], row["id"]
        if row["event"] in ("refund", "partial_capture_reversal", "payout", "stripe_fee", "tax_fee", "dispute"):
            assert row["amount"] < 0, row
        if row["event"] == "refund":
            assert row["fee"] == 0, "a refund does not return the processing fee"
    dispute = next(r for r in small_world.balance_transactions.to_pylist() if r["event"] == "dispute")
    assert (dispute["amount"], dispute["fee"], dispute["net"]) == (-7_500, 1_500, -9_000)
    jpy = [r for r in small_world.balance_transactions.to_pylist() if r["currency"] == "jpy" and r["event"] == "charge"]
    assert jpy and all(r["fee"] == (r["amount"] * 36 + 500) // 1000 for r in jpy)


def test_each_payout_holds_exactly_its_transactions(small_world):
    net_by_payout = defaultdict(int)
    for row in small_world.balance_transactions.to_pylist():
        if row["automatic_payout_id"] and row["type"] != "payout":
            net_by_payout[row["automatic_payout_id"]] += row["net"]
    payouts = small_world.payouts.to_pylist()
    assert len(payouts) >= 3 * 8
    for payout in payouts:
        assert payout["amount"] > 0
        assert net_by_payout[payout["id"]] == payout["amount"], payout["id"]


def test_payouts_arrive_two_business_days_later(small_world):
    from datetime import datetime, timezone

    for payout in small_world.payouts.to_pylist():
        created = datetime.fromtimestamp(payout["created"], tz=timezone.utc).date()
        arrival = datetime.fromtimestamp(payout["arrival_date"], tz=timezone.utc).date()
        business_days = sum(1 for offset in range(1, (arrival - created).days + 1)
                            if (created.toordinal() + offset) % 7 not in (6, 0))  # ordinal % 7: 6 Sat, 0 Sun
        assert business_days == 2, payout["id"]
        assert arrival.weekday() < 5


def test_the_failed_payout_returns_its_funds_in_a_later_payout(small_world):
    payouts = small_world.payouts.to_pylist()
    failed = [p for p in payouts if p["failure_balance_transaction"]]
    assert len(failed) == 1
    failed = failed[0]
    assert failed["currency"] == "usd"
    assert (failed["created"] - small_world.spec.start_ts) // DAY == FAILED_PAYOUT_DAY
    failure = next(r for r in small_world.balance_transactions.to_pylist() if r["id"] == failed["failure_balance_transaction"])
    assert failure["type"] == "payout_failure" and failure["reporting_category"] == "payout_reversal"
    assert failure["amount"] == failed["amount"] and failure["source"] == failed["id"]
    assert failure["created"] > failed["arrival_date"]
    later = next(p for p in payouts if p["id"] == failure["automatic_payout_id"])
    assert later["created"] > failure["created"]


def test_transactions_are_newest_first(small_world):
    created = small_world.balance_transactions.column("created").to_pylist()
    assert created == sorted(created, reverse=True)


@pytest.mark.parametrize("days", [3, 9])
def test_too_short_a_world_is_refused(days):
    with pytest.raises(ValueError, match="at least 10 days"):
        WorldSpec(days=days)


def test_three_currencies_including_zero_decimal_jpy(small_world):
    currencies = set(pc.unique(small_world.balance_transactions.column("currency")).to_pylist())
    assert currencies == {"usd", "eur", "jpy"}


def test_payouts_by_hand_are_swept_into_the_days_automatic_payout(payouts_by_hand_world, small_world):
    payouts = {p["id"]: p for p in payouts_by_hand_world.payouts.to_pylist()}
    by_hand = [p for p in payouts.values() if not p["automatic"]]
    assert [(p["currency"], (p["created"] - payouts_by_hand_world.spec.start_ts) // DAY, p["method"]) for p in by_hand] == [
        ("usd", day, method) for day, method in PAYOUTS_BY_HAND.items()
    ]
    transactions = {row["id"]: row for row in payouts_by_hand_world.balance_transactions.to_pylist()}
    for payout in by_hand:
        own = transactions[payout["balance_transaction"]]
        assert (own["type"], own["net"], own["source"]) == ("payout", -payout["amount"], payout["id"])
        # Its own transaction is an item of the automatic payout that swept the rest, an hour later.
        swept_by = payouts[own["automatic_payout_id"]]
        assert swept_by["automatic"] and swept_by["created"] == payout["created"] + 3_600
        rendered = stripe_objects.payout(payout, payouts_by_hand_world.as_of)
        assert (rendered["automatic"], rendered["method"], rendered["reconciliation_status"]) == (False, payout["method"], "not_applicable")
    instant = next(p for p in by_hand if p["method"] == "instant")
    assert instant["arrival_date"] == instant["created"]
    # Every automatic payout still holds exactly its items (everything it lists but its own transaction).
    items = defaultdict(int)
    for row in transactions.values():
        if row["automatic_payout_id"] and row["id"] != payouts[row["automatic_payout_id"]]["balance_transaction"]:
            items[row["automatic_payout_id"]] += row["net"]
    assert all(items[p["id"]] == p["amount"] for p in payouts.values() if p["automatic"])
    # Money only moved between payouts: the balance is the default world's.
    assert sum(row["net"] for row in transactions.values()) == pc.sum(small_world.balance_transactions["net"]).as_py()
    assert len(payouts) == small_world.payouts.num_rows + 2
