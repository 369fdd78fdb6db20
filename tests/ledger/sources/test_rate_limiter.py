"""The shared rate limiter: how each `Stripe-Rate-Limited-Reason` moves it, and how it climbs back.

A fake clock makes the cooldown and the recovery exact; no test waits or times anything.
"""

import pytest

from ledger.sources.rate_limiter import RateLimiter

BALANCE_TRANSACTIONS = "/v1/balance_transactions"
PAYOUTS = "/v1/payouts"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_global_rate_limiting_lowers_the_shared_rate_once_per_cooldown(clock):
    limiter = RateLimiter(20, clock=clock)
    assert limiter.throttled(BALANCE_TRANSACTIONS, "global-rate")
    # Eight requests in flight refused together are one signal.
    assert not any(limiter.throttled(BALANCE_TRANSACTIONS, "global-rate") for _ in range(7))
    assert limiter.rate == pytest.approx(14.0)
    clock.now += 1.0
    assert limiter.throttled(PAYOUTS, "global-concurrency")
    assert limiter.rate == pytest.approx(9.8)
    assert limiter.endpoint_rate(PAYOUTS) == limiter.endpoint_rate(BALANCE_TRANSACTIONS) == pytest.approx(9.8)
    assert (limiter.decreases, limiter.lowest) == (2, pytest.approx(9.8))


def test_endpoint_rate_limiting_lowers_that_endpoint_only(clock):
    limiter = RateLimiter(20, clock=clock)
    assert limiter.throttled(BALANCE_TRANSACTIONS, "endpoint-rate")
    assert limiter.endpoint_rate(BALANCE_TRANSACTIONS) == pytest.approx(14.0)
    assert limiter.endpoint_rate(PAYOUTS) == limiter.rate == 20


def test_a_busy_object_and_a_lock_timeout_leave_the_rate_alone(clock):
    limiter = RateLimiter(20, clock=clock)
    assert not limiter.throttled(BALANCE_TRANSACTIONS, "resource-specific")
    assert (limiter.rate, limiter.decreases) == (20, 0)


def test_an_unknown_reason_is_taken_as_the_account_being_rate_limited(clock):
    limiter = RateLimiter(20, clock=clock)
    assert limiter.throttled(BALANCE_TRANSACTIONS, "some-new-reason")
    assert limiter.rate == pytest.approx(14.0)


def test_successes_climb_back_to_the_ceiling_and_never_past_it(clock):
    limiter = RateLimiter(25, clock=clock)
    limiter.throttled(BALANCE_TRANSACTIONS, "global-rate")
    limiter.throttled(BALANCE_TRANSACTIONS, "endpoint-rate")
    assert limiter.endpoint_rate(BALANCE_TRANSACTIONS) == pytest.approx(17.5 * 0.7)
    # A second of successes at 17.5/s adds one request/s (the ceiling over 25 s).
    for _ in range(17):
        limiter.succeeded(BALANCE_TRANSACTIONS)
    assert 18.4 < limiter.rate < 18.5
    for _ in range(1_000):
        limiter.succeeded(BALANCE_TRANSACTIONS)
    assert limiter.rate == limiter.endpoint_rate(BALANCE_TRANSACTIONS) == 25


def test_the_rate_never_goes_below_its_floor(clock):
    limiter = RateLimiter(20, floor=2, clock=clock)
    for _ in range(30):
        clock.now += 1.0
        limiter.throttled(BALANCE_TRANSACTIONS, "global-rate")
    assert limiter.rate == limiter.lowest == 2
    assert limiter.decreases == 7, "decreases stop at the floor"


def test_a_rate_must_be_positive():
    with pytest.raises(ValueError, match="requests per second must be positive, got 0"):
        RateLimiter(0)
