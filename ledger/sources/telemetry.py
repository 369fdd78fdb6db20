"""What one ingestion run did on the wire: requests, retries, 429s, latency percentiles, throughput,
and the request rate: configured, lowest it came down to under Stripe's rate limiting, achieved.

Shared by the worker threads of a run, so every update takes a lock. Request ids of failed requests
are kept (Stripe support asks for them); the API key never passes through here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_FAILED_REQUEST_IDS = 50


@dataclass
class RequestTelemetry:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    connection_errors: int = 0
    objects: int = 0
    failed_request_ids: list[str] = field(default_factory=list)
    # STRIPE_MAX_REQUESTS_PER_SECOND, the ceiling the shared rate starts at and climbs back to.
    configured_rate_per_s: float | None = None
    rate_decreases: int = 0
    lowest_rate_per_s: float | None = None
    _latencies_s: list[float] = field(default_factory=list, repr=False)
    _started: float = field(default_factory=time.perf_counter, repr=False)
    _finished: float | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record_response(self, latency_s: float, status: int | None, request_id: str | None) -> None:
        """One HTTP attempt; `status` None means the connection failed or timed out."""
        with self._lock:
            self.requests += 1
            self._latencies_s.append(latency_s)
            if status is None:
                self.connection_errors += 1
            elif status == 429:
                self.rate_limited += 1
            elif status >= 500:
                self.server_errors += 1
            if (status is None or status >= 400) and request_id and len(self.failed_request_ids) < MAX_FAILED_REQUEST_IDS:
                self.failed_request_ids.append(request_id)

    def record_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def record_rate_decrease(self, rate_per_s: float) -> None:
        """Stripe's rate limiting brought a rate (shared or one endpoint's) down to `rate_per_s`."""
        with self._lock:
            self.rate_decreases += 1
            self.lowest_rate_per_s = min(rate_per_s, self.lowest_rate_per_s or rate_per_s)

    def record_objects(self, count: int) -> None:
        with self._lock:
            self.objects += count

    def finish(self) -> None:
        """The run is over: rates are computed up to now, not up to when they are read."""
        self._finished = time.perf_counter()

    @property
    def elapsed_s(self) -> float:
        return (self._finished or time.perf_counter()) - self._started

    def summary(self) -> dict[str, Any]:
        with self._lock:
            latencies_ms = np.array(self._latencies_s) * 1_000
            elapsed = self.elapsed_s
            p50, p95, p99 = (np.percentile(latencies_ms, [50, 95, 99]) if len(latencies_ms) else (0.0, 0.0, 0.0))
            return {
                "requests": self.requests,
                "retries": self.retries,
                "rate_limited_429": self.rate_limited,
                "server_errors_5xx": self.server_errors,
                "connection_errors": self.connection_errors,
                "latency_p50_ms": round(float(p50), 1),
                "latency_p95_ms": round(float(p95), 1),
                "latency_p99_ms": round(float(p99), 1),
                "requests_per_s_configured": self.configured_rate_per_s,
                "rate_limit_decreases": self.rate_decreases,
                # Never lowered: the configured rate was the lowest.
                "requests_per_s_lowest": round(self.lowest_rate_per_s, 2) if self.lowest_rate_per_s else self.configured_rate_per_s,
                "requests_per_s_achieved": round(self.requests / elapsed, 2) if elapsed > 0 else 0,
                "objects": self.objects,
                "objects_per_s": round(self.objects / elapsed) if elapsed > 0 else 0,
                "seconds": round(elapsed, 3),
                "failed_request_ids": list(self.failed_request_ids),
            }
