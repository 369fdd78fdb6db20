"""`stripe-close bank load` and `stripe-close bench match` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from orchestration.cli import main
from sandbox.bank_statements import BankAccountStatement, BankEntry, write_bai2
from datetime import date, datetime

STATEMENT = BankAccountStatement(
    "USD-OPERATING-4410", "usd", date(2026, 10, 5), date(2026, 10, 5), 0,
    (BankEntry(date(2026, 10, 5), date(2026, 10, 5), 123_456, "credit", "B1", None, "STRIPE TRANSFER ACME"),),
)


@pytest.fixture
def inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A good BAI2 file and an MT940 file with an impossible date, and the warehouse to load them into."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_bai2([STATEMENT], inbox / "good.bai2", sender_id="1", receiver_id="ACME", file_id="1", created_at=datetime(2026, 10, 6))
    (inbox / "bad.sta").write_text(":20:X\n:25:ACCOUNT\n:28C:1\n:60F:C261005EUR1,00\n:61:2613051005C1,00NTRFNONREF\n")
    monkeypatch.setenv("CLOSE_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    return inbox


def test_bank_load_lands_the_folder_and_fails_on_a_quarantined_file(
    inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bank", "load", str(inbox)]) == 1
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert out[0].startswith("quarantined          bad.sta  0 lines  bad.sta, line 5: date '261305'")
    assert out[1] == "loaded               good.bai2  1 line"
    # Progress on stderr (not a terminal: plain lines), counting the files as each is done.
    assert captured.err.splitlines() == ["Bank statement files: 0/2 files", "Bank statement files: 1/2 files", "Bank statement files: 2/2 files done"]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as connection:
        assert connection.execute("select amount_minor, currency from raw.bank_statement_lines").fetchall() == [(123_456, "usd")]


def test_bank_load_fails_while_a_file_remains_in_quarantine_and_lists_it(
    inbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (inbox / "empty.xml").write_bytes(b"")
    assert main(["bank", "load", str(inbox)]) == 1
    capsys.readouterr()

    # Nothing new, but two files are still refused: the load is not clean.
    assert main(["bank", "load", str(inbox)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("already_quarantined  bad.sta  0 lines  bad.sta, line 5: date '261305'")
    assert out[1:3] == [
        "already_quarantined  empty.xml  0 lines  empty.xml, whole file: file is empty",
        "already_loaded       good.bai2  0 lines",
    ]
    assert out[3] == "2 files remain in quarantine (correct or remove them, then load again):"
    assert out[4].startswith("  bad.sta, line 5: date '261305'")
    assert out[5] == "  empty.xml, whole file: file is empty"

    # A corrected bad.sta loads under the same name, and the empty file is removed: the load is clean.
    (inbox / "bad.sta").write_text(
        ":20:X\n:25:ACCOUNT\n:28C:1\n:60F:C261005EUR1,00\n:61:2610051005C1,00NTRFNONREF\n:62F:C261005EUR2,00\n"
    )
    (inbox / "empty.xml").unlink()
    assert main(["bank", "load", str(inbox)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "loaded               bad.sta  1 line",
        "already_loaded       good.bai2  0 lines",
    ]


def test_bench_match_prints_figures_and_ends_with_one_json_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "match", "--payouts", "400", "--seed", "5", "--workdir", str(tmp_path / "bench")]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"payouts", "bank_lines", "wall_s", "precision", "recall", "peak_rss_mb"} <= last.keys()
    assert (last["payouts"], last["false_matches"]) == (400, 0)
    assert last["matched_pairs"] > 380 and last["recall"] >= 0.98
