"""`stripe-close bench continuous`: a history the sandbox cannot simulate is one line and exit 2,
before anything is simulated or written (the benchmark itself is run by `make bench`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.cli import main


def test_a_history_shorter_than_the_sandbox_allows_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "continuous", "--histories", "1000000,100000", "--workdir", str(tmp_path)]) == 2

    assert capsys.readouterr().err == (
        "stripe-close bench continuous: a history of 100,000 transactions at 30,000 a day is 3 days; "
        "the sandbox needs at least 10: give more transactions or fewer a day\n"
    )
    assert list(tmp_path.iterdir()) == []
