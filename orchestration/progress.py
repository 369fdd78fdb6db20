"""What a command shows while it works: the listener of `ledger.progress` for the command line.

On a terminal, live bars (`rich`); otherwise (a log, a CI job, a pipe) one plain line per step
when it starts, every `interval_s` seconds or tenth of its total while it runs, and when it ends:
never an escape code. Both remember the files written, for the summary.

`rich`, not `tqdm`: both are already installed, but rich is a dependency of dagster and
dagster-dbt themselves (tqdm only of dagster's and Great Expectations' extras), it is actively
kept, renders several live bars from several threads in one display, and tells a terminal from a
pipe on its own.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from ledger import progress
from orchestration.wording import counted

LINE_INTERVAL_S = 10.0
# The step counting the files written (ledger.progress.wrote).
FILES = "files"


@dataclass
class _State:
    description: str
    unit: str
    total: int | None
    completed: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    last_line_at: float = 0.0
    last_tenth: int = 0

    def add(self, advance: int, total: int | None, counts: dict[str, int]) -> None:
        self.completed += advance
        self.total = total if total is not None else self.total
        for name, count in counts.items():
            self.counts[name] = self.counts.get(name, 0) + count

    @property
    def complete(self) -> bool:
        """Its total reached: a step counted from several places (one Dagster check each) ends there."""
        return self.total is not None and self.completed >= self.total

    @property
    def tenth(self) -> int:
        return self.completed * 10 // self.total if self.total else 0

    def figures(self) -> str:
        """'37/120 nodes', or '3 slices, 12,345 objects, 130 pages' while the total is unknown."""
        done = f"{self.completed:,}/{counted(self.total, self.unit)}" if self.total is not None else counted(self.completed, self.unit)
        return ", ".join([done, *(counted(count, name) for name, count in self.counts.items())])


def _first_time(written: list[str], location: str, lock: threading.Lock) -> bool:
    """Adds `location` to `written` unless it is there: each export rewrites its folder's manifest."""
    with lock:
        if location in written:
            return False
        written.append(location)
        return True


class PeriodicLines:
    """Plain lines on `stream`: a step's first report, then at most one line per `interval_s` or
    tenth of its total, then its last figures."""

    def __init__(self, stream: TextIO, interval_s: float = LINE_INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._interval_s = interval_s
        self._clock = clock
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()
        self.written: list[str] = []

    def update(self, key: str, description: str, unit: str, advance: int, total: int | None, counts: dict[str, int]) -> None:
        with self._lock:
            state = self._states.get(key)
            starting = state is None
            if starting:
                state = self._states[key] = _State(description, unit, total)
            state.add(advance, total, counts)
            if state.complete:
                del self._states[key]
                self._line(state, " done")
            elif starting or self._clock() - state.last_line_at >= self._interval_s or state.tenth > state.last_tenth:
                self._line(state)

    def finish(self, key: str) -> None:
        with self._lock:
            state = self._states.pop(key, None)
            if state is not None:
                self._line(state, " done")

    def wrote(self, location: str) -> None:
        if _first_time(self.written, location, self._lock):
            self.update(FILES, "Files written", "file", 1, None, {})

    def _line(self, state: _State, suffix: str = "") -> None:
        state.last_line_at, state.last_tenth = self._clock(), state.tenth
        print(f"{state.description}: {state.figures()}{suffix}", file=self._stream, flush=True)

    def close(self, stopped: bool) -> None:
        """The steps still open say where they ended, or where a failure `stopped` them."""
        with self._lock:
            for state in self._states.values():
                self._line(state, " (stopped)" if stopped else " done")
            self._states.clear()


class LiveBars:
    """rich's live display on a terminal: one bar per step (a pulsing one while its total is unknown)."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._bars = Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[figures]}"), TimeElapsedColumn(),
            # What else goes to stderr meanwhile (--verbose logs, a warning) is printed above the bars, not through them.
            console=Console(file=stream), redirect_stdout=False, redirect_stderr=True,
        )
        self._tasks: dict[str, tuple[object, _State]] = {}
        self._lock = threading.Lock()
        self.written: list[str] = []
        self._bars.start()

    def update(self, key: str, description: str, unit: str, advance: int, total: int | None, counts: dict[str, int]) -> None:
        with self._lock:
            if key not in self._tasks:
                state = _State(description, unit, total)
                self._tasks[key] = (self._bars.add_task(description, total=total, figures=""), state)
            task, state = self._tasks[key]
            state.add(advance, total, counts)
            self._bars.update(task, completed=state.completed, total=state.total, figures=state.figures())
            if state.complete:
                # The bar stays, full; the same key again is a new step.
                del self._tasks[key]

    def finish(self, key: str) -> None:
        with self._lock:
            if key in self._tasks:
                task, state = self._tasks.pop(key)
                self._bars.update(task, total=state.completed if state.total is None else state.total, completed=state.completed)

    def wrote(self, location: str) -> None:
        if _first_time(self.written, location, self._lock):
            self.update(FILES, "Files written", "file", 1, None, {})

    def close(self, stopped: bool) -> None:
        self._bars.stop()

    def stop_for_output(self) -> None:
        """Leave the bars as drawn: a live display redraws over lines printed below it (the summary)."""
        with self._lock:
            if self._bars.task_ids:
                self._bars.stop()


class _StopsBarsFirst:
    """Standard output that stops the live bars before its first line once work has shown any."""

    def __init__(self, stream: TextIO, bars: LiveBars) -> None:
        self._stream = stream
        self._bars = bars

    def write(self, text: str) -> int:
        self._bars.stop_for_output()
        return self._stream.write(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


_shown: PeriodicLines | LiveBars | None = None


@contextlib.contextmanager
def shown_on(stream: TextIO | None = None) -> Iterator[PeriodicLines | LiveBars]:
    """Report every step of `ledger.progress` on `stream` (stderr by default) until the block ends."""
    global _shown
    stream = stream or sys.stderr
    listener = LiveBars(stream) if stream.isatty() else PeriodicLines(stream)
    previous, _shown, stopped = _shown, listener, True
    output = contextlib.redirect_stdout(_StopsBarsFirst(sys.stdout, listener)) if isinstance(listener, LiveBars) else contextlib.nullcontext()
    try:
        with progress.listening(listener), output:
            yield listener
        stopped = False
    finally:
        _shown = previous
        listener.close(stopped)


def files_written() -> list[str]:
    """Every file the command wrote so far, once each, in order."""
    return list(_shown.written) if _shown is not None else []
