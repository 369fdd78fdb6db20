"""The parse benchmark's synthetic statements: every format parses back, every control figure adds up."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.sources.bank import parse_statement_file
from sandbox.bank_bench_files import BENCH_FORMATS, write_bench_file


@pytest.mark.parametrize("format", BENCH_FORMATS)
def test_a_bench_file_parses_back_with_every_check_passing(format: str, tmp_path: Path) -> None:
    path = tmp_path / f"bench.{format}"
    entries = write_bench_file(format, path, 1_000_000)  # type: ignore[arg-type]

    parsed = parse_statement_file(path)

    assert 950_000 <= path.stat().st_size <= 1_050_000
    assert len(parsed.entries) == entries
    assert parsed.checks and all(check.ok for check in parsed.checks)
    assert parsed.warnings == ()
    credits = [e for e in parsed.entries if e.direction == "credit"]
    assert len(credits) == (entries + 1) // 2
    first = parsed.entries[0]
    assert (first.amount_minor, first.direction, first.text) == (
        1_000,
        "credit",
        "STRIPE TRANSFER ST-000000000000 ACME ROBOTICS INC PAYOUT FOR SALES OF DAY 1",
    )
