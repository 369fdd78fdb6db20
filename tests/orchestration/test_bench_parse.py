"""`stripe-close bench parse`: a table per format and size, and one JSON object last (no times asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestration.cli import main


def test_bench_parse_prints_a_row_per_file_and_json_last(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "parse", "--sizes", "1,2", "--workdir", str(tmp_path)]) == 0

    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["format", "size", "MB", "entries", "wall", "s", "CPU", "s", "peak", "MiB", "entries/s"]
    summary = json.loads(lines[-1])
    assert [(row["format"], row["entries"]) for row in summary["parse"]] == [
        ("camt.053", 2_024), ("camt.053", 4_056), ("mt940", 7_692), ("mt940", 15_267), ("bai2", 8_403), ("bai2", 16_806),
    ]
    assert len(lines) == 1 + 6 + 1
    assert all(row["peak_mib"] > 0 and row["cpu_s"] >= 0 for row in summary["parse"])
    assert summary["time_ratio_largest_to_smallest"]["mt940"]["entries"] == 1.98
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "bai2-1mb.bai2", "bai2-2mb.bai2", "camt.053-1mb.xml", "camt.053-2mb.xml", "mt940-1mb.sta", "mt940-2mb.sta",
    ]


def test_an_unknown_format_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "parse", "--formats", "mt940,xml", "--workdir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "error: --formats: xml is not one of camt.053, mt940, bai2\n"
