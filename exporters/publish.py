"""Publishing an export folder `exports/<entity>/<period>/`: on disk, or under an S3 prefix with boto3.

Files are written locally first (into the final folder on disk, into a scratch folder for S3),
proven against the ledger, and only then published, with `manifest.json` last, so a reader who
trusts the manifest never sees a file it does not describe. On S3 each file gets a presigned
download link. boto3 honours `AWS_ENDPOINT_URL` (the moto server in tests).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import ClientError

from exporters import manifest
from exporters.journal import ExportedFile, atomic_write_bytes
from ledger import progress

PRESIGNED_LINK_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Destination:
    """Either a local root directory or an `s3://bucket/prefix` URI."""

    directory: Path | None = None
    s3_uri: str = ""

    def __post_init__(self) -> None:
        if (self.directory is None) == (not self.s3_uri):
            raise ValueError("an export destination is a directory or an s3:// URI, exactly one of them")
        if self.s3_uri and not self.s3_uri.startswith("s3://"):
            raise ValueError(f"CLOSE_EXPORT_S3_URI={self.s3_uri!r} must look like s3://bucket/prefix")

    @property
    def bucket(self) -> str:
        return urlsplit(self.s3_uri).netloc

    def key(self, entity_id: str, period: str, name: str, subfolder: str = "") -> str:
        prefix = urlsplit(self.s3_uri).path.strip("/")
        return "/".join(part for part in (prefix, entity_id, period, subfolder, name) if part)


@dataclass(frozen=True)
class PublishedFile:
    name: str
    location: str
    download_url: str = ""


@contextmanager
def export_folder(destination: Destination, entity_id: str, period: str, subfolder: str = "") -> Iterator[Path]:
    """Where to write a period's files (or those of its `subfolder`, e.g. the close package) before publishing them."""
    if destination.directory is not None:
        yield destination.directory / entity_id / period / subfolder
        return
    with tempfile.TemporaryDirectory(prefix=f"stripe-close-{entity_id}-{period}-") as scratch:
        yield Path(scratch)


def publish(
    destination: Destination, entity_id: str, period: str, files: list[ExportedFile], ledger: manifest.LedgerRun, subfolder: str = "",
    retired: list[str] = (), exceptions: dict[str, list[dict]] | None = None,
) -> list[PublishedFile]:
    """Publish proven files, remove the `retired` ones (files an export no longer writes) and merge both,
    with the targets' `exceptions`, into the folder's manifest; returns files then the manifest."""
    entries = [manifest.file_entry(exported, ledger) for exported in files]
    if destination.directory is not None:
        folder = destination.directory / entity_id / period / subfolder
        manifest_path = folder / manifest.MANIFEST
        existing = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
        for name in retired:
            (folder / name).unlink(missing_ok=True)
        content = manifest.dumps(manifest.merged(existing, entity_id, period, entries, retired, exceptions))
        if not manifest_path.exists() or manifest_path.read_bytes() != content:
            atomic_write_bytes(manifest_path, content)
        return _reported([PublishedFile(exported.path.name, str(exported.path)) for exported in files] + [PublishedFile(manifest.MANIFEST, str(manifest_path))])
    s3 = boto3.client("s3")
    published = []
    for exported in files:
        key = destination.key(entity_id, period, exported.path.name, subfolder)
        s3.upload_file(str(exported.path), destination.bucket, key)
        published.append(PublishedFile(exported.path.name, f"s3://{destination.bucket}/{key}", presigned_url(s3, destination.bucket, key)))
    for name in retired:
        s3.delete_object(Bucket=destination.bucket, Key=destination.key(entity_id, period, name, subfolder))
    manifest_key = destination.key(entity_id, period, manifest.MANIFEST, subfolder)
    try:
        existing = json.loads(s3.get_object(Bucket=destination.bucket, Key=manifest_key)["Body"].read())
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("NoSuchKey", "404"):
            raise
        existing = None
    content = manifest.dumps(manifest.merged(existing, entity_id, period, entries, retired, exceptions))
    s3.put_object(Bucket=destination.bucket, Key=manifest_key, Body=content, ContentType="application/json")
    published.append(PublishedFile(manifest.MANIFEST, f"s3://{destination.bucket}/{manifest_key}", presigned_url(s3, destination.bucket, manifest_key)))
    return _reported(published)


def _reported(published: list[PublishedFile]) -> list[PublishedFile]:
    """`published`, each told to the command's progress (its summary lists every file written)."""
    for file in published:
        progress.wrote(file.location)
    return published


def presigned_url(s3, bucket: str, key: str) -> str:
    return s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=PRESIGNED_LINK_SECONDS)
