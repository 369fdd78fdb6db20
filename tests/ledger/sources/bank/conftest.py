"""Fixtures for the bank statement tests: the real sample files, and small files built in a test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

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


@pytest.fixture
def s3_client() -> Iterator[Any]:
    """A boto3 S3 client talking HTTP to a moto server on 127.0.0.1, with one bucket `bank-inbox`."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        client = boto3.client(
            "s3",
            endpoint_url=f"http://{host}:{port}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_bucket(Bucket="bank-inbox")
        yield client
    finally:
        server.stop()
