"""Fixtures for tests that need S3: a moto server on loopback and a Data Pipeline layout in it.

Import the fixtures by name into a test module (`from tests.s3_fixtures import local_s3, ...`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from ledger.sources.data_pipeline import DataPipelineSettings
from sandbox.local_s3 import CREDENTIALS, LocalS3

_buckets = itertools.count(1)


@pytest.fixture(scope="module")
def local_s3() -> Iterator[LocalS3]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CREDENTIALS.items():
            patch.setenv(name, value)
        with LocalS3() as s3:
            yield s3


@pytest.fixture
def layout(local_s3: LocalS3) -> DataPipelineSettings:
    """A fresh bucket per test, read in test mode through the sandbox's endpoint."""
    bucket = f"stripe-exports-{next(_buckets)}"
    local_s3.client().create_bucket(Bucket=bucket)
    return DataPipelineSettings(uri=f"s3://{bucket}/stripe", mode="testmode", endpoint_url=local_s3.url)
