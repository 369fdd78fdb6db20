"""`stripe-close bench continuous`: a history the sandbox cannot simulate is one line and exit 2,
before anything is simulated or written (the benchmark itself is run by `make bench`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.cli import main


def test_a_history_shorter_than_the_sandbox_allows_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "continuous", "--histories", "1000000,100000", "--transactions-per-day", "30000", "--workdir", str(tmp_path)]) == 2

    assert capsys.readouterr().err == (
        "stripe-close bench continuous: a history of 100,000 transactions at 30,000 a day is 3 days; "
        "the sandbox needs at least 10: give more transactions or fewer a day\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_without_a_rate_every_history_gets_the_busiest_day_the_smallest_allows() -> None:
    from orchestration.bench_continuous import default_transactions_per_day

    # `make bench`: 100,000 at 30,000 a day was refused (3 days); 10,000 a day gives it the 10 days it needs.
    assert default_transactions_per_day([100_000, 300_000]) == 10_000
    assert default_transactions_per_day([300_000, 100_000]) == 10_000
    # Large histories keep the 30,000 a day (about 1,250 an hour) the benchmark's figures were taken at.
    assert default_transactions_per_day([1_000_000, 11_000_000]) == 30_000
