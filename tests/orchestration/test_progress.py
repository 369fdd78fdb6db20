"""What a command shows while it works, when its output is not a terminal: plain lines naming n/N,
at a step's start, each tenth of its total or every interval, and its end; never an escape code."""

import io
from datetime import timedelta

import pytest

from ledger import progress
from orchestration.cli import main
from orchestration.progress import LiveBars, PeriodicLines, files_written, shown_on
from tests.conftest import API_KEY

ESC = "\x1b"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_step_with_a_total_is_a_line_at_its_start_each_tenth_and_its_end():
    stream, clock = io.StringIO(), Clock()
    with progress.listening(PeriodicLines(stream, interval_s=10, clock=clock)):
        nodes = progress.step("dbt", "node", 20, "dbt build")
        for _ in range(20):
            nodes.advance()
    assert stream.getvalue().splitlines() == [
        "dbt build: 0/20 nodes",
        *(f"dbt build: {done:,}/20 nodes" for done in range(2, 20, 2)),
        "dbt build: 20/20 nodes done",
    ]


def test_a_step_without_a_total_is_a_line_every_interval_with_its_counts():
    stream, clock = io.StringIO(), Clock()
    with progress.listening(PeriodicLines(stream, interval_s=10, clock=clock)):
        fetched = progress.step("txns", "slice", description="Stripe balance transactions")
        for second in range(25):
            clock.now = second
            fetched.advance(0, object=100, page=1)
        fetched.advance()
        fetched.finish()
    assert stream.getvalue().splitlines() == [
        "Stripe balance transactions: 0 slices",
        "Stripe balance transactions: 0 slices, 1,100 objects, 11 pages",
        "Stripe balance transactions: 0 slices, 2,100 objects, 21 pages",
        "Stripe balance transactions: 1 slice, 2,500 objects, 25 pages done",
    ]


def test_steps_counted_from_several_places_end_at_their_total_and_start_again():
    """A Dagster run validates the GX proofs one check at a time: each check advances the same step."""
    stream = io.StringIO()
    with progress.listening(PeriodicLines(stream, clock=Clock())):
        for _ in range(2):
            for _ in range(3):
                progress.step("proofs", "proof", 3, "Great Expectations proofs").advance()
    assert stream.getvalue().splitlines() == [
        "Great Expectations proofs: 0/3 proofs", "Great Expectations proofs: 1/3 proofs", "Great Expectations proofs: 2/3 proofs",
        "Great Expectations proofs: 3/3 proofs done",
    ] * 2


def test_a_step_a_failure_stopped_says_so():
    stream = io.StringIO()
    with pytest.raises(RuntimeError), shown_on(stream):
        progress.step("dbt", "node", 50, "dbt build").advance(7)
        raise RuntimeError("dbt died")
    assert stream.getvalue().splitlines()[-1] == "dbt build: 7/50 nodes (stopped)"


def test_files_written_are_counted_and_listed_once_each():
    stream = io.StringIO()
    with shown_on(stream):
        for location in ("exports/main/2026-10/a.csv", "exports/main/2026-10/manifest.json", "exports/main/2026-10/manifest.json"):
            progress.wrote(location)
        assert files_written() == ["exports/main/2026-10/a.csv", "exports/main/2026-10/manifest.json"]
    assert stream.getvalue().splitlines() == ["Files written: 1 file", "Files written: 2 files done"]
    assert files_written() == []


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_live_bars_and_a_pipe_plain_lines():
    with shown_on(Terminal()) as listener:
        assert isinstance(listener, LiveBars)
    with shown_on(io.StringIO()) as listener:
        assert isinstance(listener, PeriodicLines)


def test_ingest_into_a_pipe_shows_each_stream_as_plain_lines(stripe_server, small_world, tmp_path, monkeypatch, capsys):
    """The real command against the sandbox Stripe API: its progress names each stream's n/N, without an escape code."""
    for name, value in {"CLOSE_SOURCE": "sandbox", "CLOSE_WAREHOUSE": str(tmp_path / "warehouse.duckdb"), "STRIPE_API_KEY": API_KEY,
                        "STRIPE_API_BASE": stripe_server.url}.items():
        monkeypatch.setenv(name, value)
    start, end = small_world.spec.start, small_world.spec.start + timedelta(days=small_world.spec.days - 1)
    assert main(["ingest", "--start", start.isoformat(), "--end", end.isoformat()]) == 0
    err = capsys.readouterr().err
    assert ESC not in err
    lines = err.splitlines()
    transactions = small_world.balance_transactions.num_rows
    [fetched] = [line for line in lines if line.startswith("Stripe balance transactions: ") and line.endswith(" done")]
    slices = fetched.split(": ")[1].split("/")[0]
    assert fetched.startswith(f"Stripe balance transactions: {slices}/{slices} slices, {transactions:,} objects, ")
    assert any(line.startswith("Stripe payouts: ") and line.endswith(" payouts done") for line in lines)
    assert any(line.startswith("Stripe payout contents: ") and line.endswith(" payouts done") for line in lines)
    assert not (tmp_path / "logs").exists(), "ingest runs neither dbt nor Dagster: no log file"


def test_a_terminal_keeps_its_last_bars_and_draws_nothing_over_the_summary(capsys):
    terminal = Terminal()
    with shown_on(terminal):
        print("Simulating a merchant")  # before any step: the display has nothing to keep
        nodes = progress.step("dbt", "node", 3, "dbt build")
        nodes.advance(3)
        print("Wrote 2 files:")
        drawn = terminal.getvalue()
        progress.step("proofs", "proof", 7, "Great Expectations proofs").advance()
    assert capsys.readouterr().out == "Simulating a merchant\nWrote 2 files:\n"
    assert "3/3 nodes" in drawn and ESC in drawn
    assert terminal.getvalue() == drawn, "once the summary started, the bars are not redrawn"
