"""Fixtures for the bank statement tests: the real sample files, and small files built in a test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ledger.sources.bank import BankStatementError, parse_statement_file

# shared/ sits beside the repository, locally and in CI: <repo>/../shared/samples/bank
SAMPLES = Path(__file__).resolve().parents[4].parent / "shared" / "samples" / "bank"


@pytest.fixture
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"sample bank files not found at {SAMPLES}")
    return SAMPLES


@pytest.fixture
def bank_file(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def refused(bank_file: Callable[[str, str], Path]) -> Callable[..., BankStatementError]:
    """Parse a malformed file built in the test; return the error, checked to name file and line."""

    def parse_expecting_refusal(name: str, text: str, **options: object) -> BankStatementError:
        with pytest.raises(BankStatementError) as caught:
            parse_statement_file(bank_file(name, text), **options)  # type: ignore[arg-type]
        error = caught.value
        assert str(error).startswith(f"{name}, line {error.line}")
        return error

    return parse_expecting_refusal
