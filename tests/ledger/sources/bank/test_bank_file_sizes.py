"""The sized camt.053 writer of the parse benchmark: the size asked for, and a file that reads back exactly."""

from __future__ import annotations

from pathlib import Path

from ledger.sources.bank import parse_statement_file
from sandbox.bank_file_sizes import write_camt053_of_size


def test_a_sized_camt053_reaches_its_size_and_parses_with_every_check_passing(tmp_path: Path) -> None:
    path = tmp_path / "sized.xml"
    entries = write_camt053_of_size(path, 200_000)
    size = path.stat().st_size
    parsed = parse_statement_file(path)
    assert 200_000 <= size < 200_000 + 1_000  # at most one entry (about 800 bytes) beyond the size
    assert len(parsed.entries) == entries > 200
    assert [c.name for c in parsed.checks] == [
        "statement BENCH-CAMT053-1 EUR closing balance (CLBD)",
        "statement BENCH-CAMT053-1 entry count (TtlNtries)",
        "statement BENCH-CAMT053-1 entry count (TtlCdtNtries)",
        "statement BENCH-CAMT053-1 credit sum (TtlCdtNtries)",
        "statement BENCH-CAMT053-1 entry count (TtlDbtNtries)",
        "statement BENCH-CAMT053-1 debit sum (TtlDbtNtries)",
    ]
    assert all(check.ok for check in parsed.checks)
    assert {e.direction for e in parsed.entries} == {"credit", "debit"}
    assert parsed.entries[0].line < parsed.entries[1].line


def test_same_seed_and_size_give_the_same_bytes(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a.xml", tmp_path / "b.xml", tmp_path / "c.xml"
    write_camt053_of_size(first, 50_000)
    write_camt053_of_size(second, 50_000)
    write_camt053_of_size(other, 50_000, seed=8)
    assert first.read_bytes() == second.read_bytes() != other.read_bytes()
