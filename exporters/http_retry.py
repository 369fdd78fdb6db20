"""Sending one ERP request with backoff: what the NetSuite and SAP push clients share.

429 and 5xx answers and broken connections are retried with exponential backoff, honouring a
numeric `Retry-After`. Every attempt holds one of the caller's request slots, so a client never
has more requests in flight than its ERP account allows. Retrying is safe only for idempotent
requests: for the others (`idempotent=False`, SAP's post) only 429 is retried, since a 429 means
the request was turned away before anything happened; a broken connection or a 5xx is reported,
and the next push reads back what was posted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

RETRYABLE = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    backoff_s: float = 0.5
    sleep: Callable[[float], None] = time.sleep

    def delay(self, response: requests.Response | None, attempt: int) -> float:
        retry_after = response.headers.get("Retry-After") if response is not None else None
        if retry_after and retry_after.isdigit():
            return float(retry_after)
        return self.backoff_s * 2 ** (attempt - 1)


@dataclass(frozen=True)
class Outcome:
    """The last answer (None when the connection failed every time), and how many attempts it took."""

    response: requests.Response | None
    attempts: int
    connection_error: str = ""


def send(session: requests.Session, slots: threading.Semaphore, policy: RetryPolicy, method: str, url: str, idempotent: bool = True, **kwargs) -> Outcome:
    response: requests.Response | None = None
    failure = ""
    retryable = RETRYABLE if idempotent else frozenset({429})
    for attempt in range(1, policy.max_attempts + 1):
        with slots:
            try:
                response, failure = session.request(method, url, timeout=60, **kwargs), ""
            except requests.ConnectionError as error:
                response, failure = None, f"connection failed ({type(error).__name__}); the ERP may or may not have applied the request"
                if not idempotent:
                    return Outcome(None, attempt, failure)
        if response is not None and response.status_code not in retryable:
            return Outcome(response, attempt)
        if attempt < policy.max_attempts:
            policy.sleep(policy.delay(response, attempt))
    return Outcome(response, policy.max_attempts, failure)
