"""Fixtures for tests that need S3: a moto server on loopback and a Data Pipeline layout in it,
and the helpers that spoil a delivery in it.

Import the fixtures by name into a test module (`from tests.s3_fixtures import local_s3, ...`).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator

import pyarrow.parquet as pq
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


def replace_object(layout, table, transform) -> str:
    """Rewrite the single part of `table` in the newest run through `transform(bytes) -> bytes`."""
    s3 = layout.s3_client()
    # Run folders sort by time: the last key of the table is in the newest run.
    key = max(item["Key"] for item in s3.list_objects_v2(Bucket=layout.bucket, Prefix=layout.prefix)["Contents"] if f"/{table}/" in item["Key"])
    body = s3.get_object(Bucket=layout.bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=layout.bucket, Key=key, Body=transform(body))
    return f"s3://{layout.bucket}/{key}"


def rewritten(change):
    """A transform for `replace_object`: the parquet file with its table passed through `change(table) -> table`."""
    def transform(body: bytes) -> bytes:
        out = io.BytesIO()
        pq.write_table(change(pq.read_table(io.BytesIO(body))), out)
        return out.getvalue()
    return transform


def without_column(column):
    return rewritten(lambda table: table.drop_columns([column]))


def with_column(column, values):
    """A transform replacing `column` with `values(old column) -> Arrow array`."""
    return rewritten(lambda table: table.set_column(table.schema.get_field_index(column), column, values(table.column(column))))
