"""The request rate shared by every worker thread of a run, adapted to what Stripe allows.

The configured rate (STRIPE_MAX_REQUESTS_PER_SECOND) is a ceiling, not a promise: other
integrations can share the account's budget, so Stripe may allow fewer. When Stripe answers 429 with
`Stripe-Rate-Limited-Reason`, the rate comes down multiplicatively; while requests succeed, it
climbs back additively to the ceiling (AIMD, as TCP does), so a run settles just under what the
account has left instead of spending half its requests on refusals.

How each reason moves it (docs.stripe.com/rate-limits):
- `global-rate`, `global-concurrency` (and a reason this code does not know): the account's whole
  budget is spent, so the shared rate comes down.
- `endpoint-rate`, `endpoint-concurrency`: one endpoint's budget is spent; that endpoint gets a rate
  of its own below the shared one, and the other endpoints keep theirs.
- `resource-specific`: one object is busy; the rate stays, only that request backs off.

One decrease per `cooldown_s`: every request in flight when the limit is met is refused together,
and those refusals are one signal, not eight. Below `floor` the rate never goes, so a run always
moves forward.

Each limit is a token bucket holding a quarter second of requests: a worker that was late can use
a missed slot soon after, while bursts stay far inside Stripe's one-second window. Callers beyond
the bucket reserve a future slot and sleep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

DECREASE_FACTOR = 0.7
# Climbing back from a decrease takes about this many seconds of successes per ceiling.
RECOVERY_SECONDS = 25.0
RECOVERY_SHARE = 0.1
COOLDOWN_S = 1.0
SHARED_REASONS = ("global-rate", "global-concurrency")
ENDPOINT_REASONS = ("endpoint-rate", "endpoint-concurrency")
OBJECT_REASONS = ("resource-specific",)


class _Bucket:
    """One token bucket whose rate moves between `floor` and `ceiling`; not thread-safe on its own."""

    def __init__(self, rate: float, ceiling: float, floor: float, clock: Callable[[], float]) -> None:
        self.rate = rate
        self._ceiling = ceiling
        self._floor = floor
        self._clock = clock
        self._tokens = max(1.0, rate / 4)
        self._last = clock()
        self._last_decrease = float("-inf")

    def take(self) -> float:
        """Seconds the caller must wait for its slot."""
        now = self._clock()
        self._tokens = min(max(1.0, self.rate / 4), self._tokens + (now - self._last) * self.rate) - 1
        self._last = now
        return -self._tokens / self.rate if self._tokens < 0 else 0.0

    def decrease(self, cooldown_s: float) -> bool:
        now = self._clock()
        if now - self._last_decrease < cooldown_s or self.rate <= self._floor:
            return False
        self._last_decrease = now
        self.rate = max(self._floor, self.rate * DECREASE_FACTOR)
        return True

    def increase(self) -> None:
        # `rate` successes a second, each adding step / rate: the rate climbs `step` per second,
        # a share of the ceiling, but no more than a tenth of itself, so that a budget far below
        # the ceiling is not overshot again a second after each decrease.
        step = min(self._ceiling / RECOVERY_SECONDS, self.rate * RECOVERY_SHARE)
        self.rate = min(self._ceiling, self.rate + step / self.rate)


class RateLimiter:
    """At most `per_second` requests per second across all threads, on average, and fewer while
    Stripe says the account (or an endpoint) is rate limited. Thread-safe."""

    def __init__(self, per_second: float, floor: float | None = None, cooldown_s: float = COOLDOWN_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if per_second <= 0:
            raise ValueError(f"requests per second must be positive, got {per_second}")
        self.ceiling = per_second
        self._floor = min(per_second, floor if floor is not None else max(0.5, per_second / 50))
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._shared = _Bucket(per_second, per_second, self._floor, clock)
        self._endpoints: dict[str, _Bucket] = {}
        self._lowest = per_second
        self.decreases = 0
        self._lock = threading.Lock()

    @property
    def rate(self) -> float:
        """The shared rate now, requests per second."""
        return self._shared.rate

    @property
    def lowest(self) -> float:
        """The lowest rate (shared or of one endpoint) this limiter came down to."""
        return self._lowest

    def endpoint_rate(self, endpoint: str) -> float:
        bucket = self._endpoints.get(endpoint)
        return min(self._shared.rate, bucket.rate) if bucket else self._shared.rate

    def acquire(self, endpoint: str) -> None:
        with self._lock:
            wait = self._shared.take()
            bucket = self._endpoints.get(endpoint)
            if bucket:
                wait = max(wait, bucket.take())
        if wait:
            time.sleep(wait)

    def succeeded(self, endpoint: str) -> None:
        with self._lock:
            self._shared.increase()
            bucket = self._endpoints.get(endpoint)
            if bucket:
                bucket.increase()

    def throttled(self, endpoint: str, reason: str) -> bool:
        """Stripe refused a request to `endpoint` as rate limited for `reason`; True if a rate came down."""
        if reason in OBJECT_REASONS:
            return False
        with self._lock:
            if reason in ENDPOINT_REASONS:
                bucket = self._endpoints.get(endpoint)
                if bucket is None:
                    bucket = self._endpoints[endpoint] = _Bucket(self._shared.rate, self.ceiling, self._floor, self._clock)
            else:
                bucket = self._shared
            lowered = bucket.decrease(self._cooldown_s)
            if lowered:
                self.decreases += 1
                self._lowest = min(self._lowest, bucket.rate)
            return lowered
