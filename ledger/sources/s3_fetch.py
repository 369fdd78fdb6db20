"""Download S3 objects to local files on threads, so that a caller can use the first ones while the
rest are still arriving.

A Data Pipeline delivery is hundreds of megabytes in many parts; one part at a time leaves the
network idle while DuckDB works and DuckDB idle while the network works. Here every object is
queued at once on a small pool (boto3 clients are thread-safe), each large object itself in ranged
parts (boto3's `TransferConfig`), in the order given, and `wait` hands back a group of objects as
soon as that group is complete: the loader reads the first table while the next is downloading.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig

WORKERS = 4
# Ranged GETs per object; parts of a delivery are tens of megabytes.
TRANSFER = TransferConfig(multipart_threshold=16 * 1024 * 1024, multipart_chunksize=16 * 1024 * 1024, max_concurrency=4)


@dataclass(frozen=True)
class S3Object:
    key: str
    size: int
    path: Path


class ParallelDownload:
    """`with ParallelDownload(s3, bucket, objects) as download:` fetches every object on threads;
    `download.wait(objects)` blocks until those have landed (raising the first error). On exit the
    objects not yet started are cancelled."""

    def __init__(self, s3: Any, bucket: str, objects: Sequence[S3Object], workers: int = WORKERS) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._objects = objects
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="s3-fetch")
        self._futures: dict[str, Future] = {}
        self._started = 0.0
        self._finished: list[float] = []
        self.waited_s = 0.0

    def __enter__(self) -> "ParallelDownload":
        self._started = time.perf_counter()
        for item in self._objects:
            item.path.parent.mkdir(parents=True, exist_ok=True)
            self._futures[item.key] = self._pool.submit(self._fetch, item)
        return self

    def _fetch(self, item: S3Object) -> None:
        self._s3.download_file(self._bucket, item.key, str(item.path), Config=TRANSFER)
        self._finished.append(time.perf_counter())

    def wait(self, objects: Sequence[S3Object]) -> None:
        started = time.perf_counter()
        try:
            for item in objects:
                self._futures[item.key].result()
        finally:
            self.waited_s += time.perf_counter() - started

    @property
    def download_s(self) -> float:
        """From the first request to the last object landed (so far)."""
        return max(self._finished, default=self._started) - self._started

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
