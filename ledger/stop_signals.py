"""SIGTERM and SIGINT as an exception in the main thread, for the length of a block: a long wait or a
session of child processes then ends through its own `finally` (releasing, stopping what it started)
instead of dying where it stands."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def raising_on_stop_signals(error: Callable[[int], BaseException]) -> Iterator[None]:
    """Inside the block, SIGTERM or SIGINT raises `error(signum)`; the previous handlers come back after it."""

    def raise_error(signum, _frame):
        raise error(signum)

    previous = {signum: signal.signal(signum, raise_error) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
