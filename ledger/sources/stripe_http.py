"""GET requests to Stripe through the official SDK, with a shared rate limit and our own retries.

Why not the SDK's own retries: `StripeClient` does not retry a 429 unless Stripe sends
`Stripe-Should-Retry: true` (reference/stripe.md 5.1), and it ignores `Retry-After`; a backfill
that meets global rate limiting must back off and carry on. So the client runs with zero network
retries and `fetch` retries 429, 5xx, 409-with-should-retry, timeouts and connection errors with
capped exponential backoff and full jitter. Rate limiting (a 429 with `Stripe-Rate-Limited-Reason`)
is retried for a time budget, because an account whose budget other integrations share can stay
saturated for minutes without anything being wrong; everything else a bounded number of times.
Then the error names the path, the last status and the request ids. A 401 or 403 is not retried:
it becomes one line naming the endpoint and the permission the key lacks (`stripe_permissions`).

Why the requestor and not `raw_request`: the SDK still builds the URL, authenticates, pins the API
version, sends the request and turns error bodies into its error classes, but its response object
parses JSON with `object_pairs_hook=OrderedDict`, which costs more CPU than the request at 100
requests/s. Bodies of successful responses are parsed here with orjson instead.

The rate limiter (`rate_limiter`) is a token bucket that the worker threads share, so however many
slices run in parallel the account sees at most the configured rate; it comes down when Stripe
says the account is rate limited and climbs back while requests succeed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
import stripe

from ledger.sources.rate_limiter import RateLimiter
from ledger.sources.stripe_permissions import endpoint_of, refusal
from ledger.sources.telemetry import RequestTelemetry

PAGE_SIZE = 100


class StripeRequestFailed(RuntimeError):
    """A request kept failing after every retry (or failed in a way retrying cannot fix)."""


class StripeAccessDenied(StripeRequestFailed):
    """Stripe refused the key (401) or the key's permissions (403): retrying cannot fix it."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RetryPolicy:
    # Attempts per request for 5xx, timeouts, connection errors and lock timeouts.
    max_attempts: int = 8
    base_delay_s: float = 0.25
    max_delay_s: float = 20.0
    # How long one request keeps retrying while Stripe says the account is rate limited.
    rate_limit_budget_s: float = 300.0

    def delay(self, attempt: int, retry_after_s: float | None) -> float:
        """Full jitter on a doubling ceiling; a server's Retry-After is a floor."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** min(attempt - 1, 30))
        delay = random.uniform(ceiling / 2, ceiling)
        return max(delay, min(retry_after_s or 0.0, self.max_delay_s))


def _should_retry(status: int | None, headers: dict[str, str]) -> bool:
    explicit = headers.get("stripe-should-retry")
    if explicit is not None:
        return explicit == "true"
    return status is None or status == 429 or status >= 500


def _json(body: Any) -> Any:
    try:
        return orjson.loads(body)
    except (orjson.JSONDecodeError, TypeError):
        return None


def _ids(request_ids: list[str], label: str) -> str:
    return f"; {label} {', '.join(request_ids)}" if request_ids else ""


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
        self._stripe_account = stripe_account
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
        endpoint = endpoint_of(path)
        failures = throttled = 0
        throttled_since: float | None = None
        request_ids: list[str] = []
        while True:
            self._limiter.acquire(endpoint)
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
                    self._limiter.succeeded(endpoint)
                    return orjson.loads(body), headers
                if request_id:
                    request_ids.append(request_id)
                last = f"HTTP {status}"
                if status in (401, 403):
                    raise StripeAccessDenied(f"{refusal(path, status, _json(body), self._stripe_account)}{_ids(request_ids[-1:], 'request id')}", status)
                if not _should_retry(status, headers):
                    self._raise_sdk_error(body, status, raw_headers)
            reason = headers.get("stripe-rate-limited-reason") if status == 429 else None
            if reason:
                # Stripe says the account (or an endpoint, or an object) is over its limit: slow
                # down and keep trying for the time budget; no number of attempts is too many.
                if self._limiter.throttled(endpoint, reason):
                    self.telemetry.record_rate_decrease(self._limiter.endpoint_rate(endpoint))
                now = time.monotonic()
                throttled_since = throttled_since or now
                if now - throttled_since >= self._retry.rate_limit_budget_s:
                    raise StripeRequestFailed(
                        f"GET {path} still rate limited by Stripe (HTTP 429, {reason}) after {self._retry.rate_limit_budget_s:g} s "
                        f"of retries (STRIPE_RATE_LIMIT_RETRY_SECONDS){_ids(request_ids[-5:], 'request ids')}"
                    )
                throttled += 1
                delay = self._retry.delay(throttled, _retry_after(headers))
            else:
                failures += 1
                if failures == self._retry.max_attempts:
                    raise StripeRequestFailed(f"GET {path} failed {failures} times, last with {last}{_ids(request_ids[-5:], 'request ids')}")
                delay = self._retry.delay(failures, _retry_after(headers))
            self.telemetry.record_retry()
            time.sleep(delay)

    def _raise_sdk_error(self, body: Any, status: int, headers: Any) -> None:
        """Let the SDK build its error class (InvalidRequestError...)."""
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
