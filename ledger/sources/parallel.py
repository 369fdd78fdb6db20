"""Run producer jobs on threads and hand their items to one consumer, with bounded memory.

Fetching is I/O bound (each request waits on Stripe), so threads overlap the waits; writing stays
on the caller's thread because a DuckDB connection has one writer. The queue between them is
bounded: when the writer falls behind, producers block instead of piling pages up in memory.
The first job to fail stops the others and its error is raised to the consumer.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
_JOB_DONE = object()
_POLL_S = 0.1


def run_jobs(jobs: Sequence[Callable[[], Iterator[T]]], workers: int, queue_size: int) -> Iterator[T]:
    """Items of every job, in arrival order; raises the first job error after stopping the rest."""
    items: queue.Queue = queue.Queue(maxsize=queue_size)
    stop = threading.Event()
    errors: list[BaseException] = []

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def run(job: Callable[[], Iterator[T]]) -> None:
        try:
            if stop.is_set():
                return
            for item in job():
                if not put(item):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the consumer below
            errors.append(error)
            stop.set()
        finally:
            put(_JOB_DONE)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="stripe-fetch") as pool:
        for job in jobs:
            pool.submit(run, job)
        finished = 0
        try:
            while finished < len(jobs) and not errors:
                try:
                    item = items.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                if item is _JOB_DONE:
                    finished += 1
                else:
                    yield item
        finally:
            stop.set()
    if errors:
        raise errors[0]
