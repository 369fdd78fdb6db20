"""How far a long step got (pages fetched, dbt nodes built, proofs run, files written), for whoever listens.

The domain reports; it never prints. A command-line run installs a listener for its duration
(orchestration/progress.py: live bars on a terminal, a plain line now and then otherwise); a run in
the Dagster daemon, a test or a library caller installs none, and every report is a no-op.

One listener for the whole process, not a context variable: ingestion fetches on worker threads,
which do not inherit a context. Listeners take their own lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, TypeVar

T = TypeVar("T")


class Listener(Protocol):
    def update(self, key: str, description: str, unit: str, advance: int, total: int | None, counts: dict[str, int]) -> None:
        """`key` advanced by `advance` `unit`s (of `total`, when known) and by `counts` of other things (pages, rows)."""

    def finish(self, key: str) -> None:
        """`key` is done."""

    def wrote(self, location: str) -> None:
        """A file the user gets was written (a path, or an s3:// URI)."""


_listener: Listener | None = None


@contextmanager
def listening(listener: Listener) -> Iterator[Listener]:
    """Report to `listener` until the block ends."""
    global _listener
    previous, _listener = _listener, listener
    try:
        yield listener
    finally:
        _listener = previous


@dataclass(frozen=True)
class Step:
    """One long step: `key` names it (the same key from two places is the same step), `description`
    is what the user reads, `unit` what it counts, in the singular ('node'); so are the names of
    `advance`'s other counts (`page=1`)."""

    key: str
    description: str
    unit: str
    total: int | None = None

    def advance(self, amount: int = 1, **counts: int) -> None:
        if _listener is not None:
            _listener.update(self.key, self.description, self.unit, amount, self.total, counts)

    def finish(self) -> None:
        if _listener is not None:
            _listener.finish(self.key)


def step(key: str, unit: str, total: int | None = None, description: str | None = None) -> Step:
    """A step to advance; announced to the listener at once, so a step that never advances still shows."""
    started = Step(key, description or key, unit, total)
    started.advance(0)
    return started


def counted(items: Iterable[T], started: Step) -> Iterator[T]:
    """`items`, advancing `started` by one as each is done with (the next is asked for), finished when they are exhausted."""
    for item in items:
        yield item
        started.advance()
    started.finish()


def wrote(location: str) -> None:
    if _listener is not None:
        _listener.wrote(location)
