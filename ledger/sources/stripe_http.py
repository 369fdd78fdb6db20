"""GET requests to Stripe through the official SDK, with a shared rate limit and our own retries.

Why not the SDK's own retries: `StripeClient` does not retry a 429 unless Stripe sends
`Stripe-Should-Retry: true` (reference/stripe.md 5.1), and it ignores `Retry-After`; a backfill
that meets global rate limiting must back off and carry on. So the client runs with zero network
retries and `fetch` retries 429, 5xx, 409-with-should-retry, timeouts and connection errors with
capped exponential backoff and full jitter, a bounded number of times, then raises an error that
names the path, the last status and the request ids.

Why the requestor and not `raw_request`: the SDK still builds the URL, authenticates, pins the API
version, sends the request and turns error bodies into its error classes, but its response object
parses JSON with `object_pairs_hook=OrderedDict`, which costs more CPU than the request at 100
requests/s. Bodies of successful responses are parsed here with orjson instead.

The rate limiter is a token bucket that the worker threads share, so however many slices run in
parallel the account sees at most `requests_per_second`. No library does this small job better
than the dozen lines below.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
import stripe

from ledger.sources.telemetry import RequestTelemetry

PAGE_SIZE = 100


class StripeRequestFailed(RuntimeError):
    """A request kept failing after every retry (or failed in a way retrying cannot fix)."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay_s: float = 0.25
    max_delay_s: float = 20.0

    def delay(self, attempt: int, retry_after_s: float | None) -> float:
        """Full jitter on a doubling ceiling; a server's Retry-After is a floor."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        delay = random.uniform(ceiling / 2, ceiling)
        return max(delay, min(retry_after_s or 0.0, self.max_delay_s))


class RateLimiter:
    """At most `per_second` acquisitions per second across all threads, on average.

    A token bucket holding a quarter second of requests: a worker that was late (a slow response,
    a pause for a database write) can use a missed slot soon after, while bursts stay far inside
    Stripe's own one-second window. Callers beyond the bucket reserve a future slot and sleep.
    """

    def __init__(self, per_second: float) -> None:
        if per_second <= 0:
            raise ValueError(f"requests per second must be positive, got {per_second}")
        self._rate = per_second
        self._capacity = max(1.0, per_second / 4)
        self._tokens = self._capacity
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate) - 1
            self._last = now
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait:
            time.sleep(wait)


def _should_retry(status: int | None, headers: dict[str, str]) -> bool:
    explicit = headers.get("stripe-should-retry")
    if explicit is not None:
        return explicit == "true"
    return status is None or status == 429 or status >= 500


def _retry_after(headers: dict[str, str]) -> float | None:
    try:
        return float(headers["retry-after"])
    except (KeyError, ValueError):
        return None


class StripeFetcher:
    """GETs JSON from one Stripe account (the key's own, or `stripe_account`: a connected account,
    sent as the SDK's `stripe_account` request option, i.e. the `Stripe-Account` header); safe
    to share between threads."""

    def __init__(self, client: stripe.StripeClient, limiter: RateLimiter, retry: RetryPolicy, telemetry: RequestTelemetry,
                 stripe_account: str | None = None) -> None:
        self._requestor = client._requestor  # noqa: SLF001 - see the module docstring
        self._options: dict[str, Any] = {"stripe_account": stripe_account} if stripe_account else {}
        self._limiter = limiter
        self._retry = retry
        self.telemetry = telemetry

    def fetch(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        return self._fetch(path, params)[0]

    def fetch_dated(self, path: str, params: dict[str, Any]) -> tuple[dict[str, Any], datetime | None]:
        """`fetch`, with the time Stripe answered (its `Date` header, UTC, whole seconds), or None
        if the response has no usable `Date`."""
        body, headers = self._fetch(path, params)
        try:
            answered = parsedate_to_datetime(headers["date"])
        except (KeyError, TypeError, ValueError):
            return body, None
        return body, answered if answered.tzinfo else None

    def _fetch(self, path: str, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        last = "no attempt"
        request_ids: list[str] = []
        for attempt in range(1, self._retry.max_attempts + 1):
            self._limiter.acquire()
            started = time.perf_counter()
            try:
                body, status, raw_headers = self._requestor.request_raw(
                    "get", path, params=params, options=self._options, base_address="api", api_mode="V1", usage=["stripe_close"],
                )
            except stripe.APIConnectionError as error:
                self.telemetry.record_response(time.perf_counter() - started, None, None)
                status, headers, last = None, {}, f"connection error ({type(error).__name__})"
            else:
                headers = {key.lower(): value for key, value in raw_headers.items()}
                request_id = headers.get("request-id")
                self.telemetry.record_response(time.perf_counter() - started, status, request_id)
                if 200 <= status < 300:
                    return orjson.loads(body), headers
                if request_id:
                    request_ids.append(request_id)
                last = f"HTTP {status}"
                if not _should_retry(status, headers):
                    self._raise_sdk_error(body, status, raw_headers)
            if attempt == self._retry.max_attempts:
                break
            self.telemetry.record_retry()
            time.sleep(self._retry.delay(attempt, _retry_after(headers)))
        ids = f"; request ids {', '.join(request_ids[-5:])}" if request_ids else ""
        raise StripeRequestFailed(f"GET {path} failed {self._retry.max_attempts} times, last with {last}{ids}")

    def _raise_sdk_error(self, body: Any, status: int, headers: Any) -> None:
        """Let the SDK build its error class (AuthenticationError, InvalidRequestError...)."""
        self._requestor._interpret_response(body, status, headers, "V1")  # noqa: SLF001
        raise StripeRequestFailed(f"unexpected HTTP {status} from Stripe")

    def pages(self, path: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Every page of a Stripe list, newest first, following `starting_after` until `has_more` is false."""
        cursor: str | None = None
        while True:
            page_params = {**params, "limit": PAGE_SIZE}
            if cursor:
                page_params["starting_after"] = cursor
            body = self.fetch(path, page_params)
            data = body["data"]
            if data:
                self.telemetry.record_objects(len(data))
                yield data
            if not body.get("has_more") or not data:
                return
            cursor = data[-1]["id"]
