"""What one ingestion run did on the wire: requests, retries, 429s, latency percentiles, throughput.

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
                "objects": self.objects,
                "objects_per_s": round(self.objects / elapsed) if elapsed > 0 else 0,
                "seconds": round(elapsed, 3),
                "failed_request_ids": list(self.failed_request_ids),
            }
