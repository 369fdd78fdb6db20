"""Where bank statement files arrive: a local folder or an S3 prefix, and loading all of it.

Both inboxes list their files with a change token (size and modification time for a folder,
the ETag for S3) so that a sensor can tell new or changed files from what it saw before without
reading them. S3 objects are copied to local disk with boto3 first (DuckDB 2.0 cannot read S3
offline, and the parsers read files). Loading an inbox loads every file on its own: one bad
file is quarantined and the others still load.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import duckdb

from ledger import progress
from ledger.sources.bank.csv_statement import CsvConfig
from ledger.sources.bank.load import LoadOutcome, StatementFile, load_statement_file


@dataclass(frozen=True)
class InboxEntry:
    name: str  # relative to the folder or prefix, with "/" separators
    change_token: str  # differs whenever the file's content may have changed


class Inbox(Protocol):
    uri: str

    def list(self) -> list[InboxEntry]: ...

    def fetch(self, entry: InboxEntry, directory: Path) -> StatementFile: ...


@dataclass(frozen=True)
class FolderInbox:
    """Every regular file below `folder` (hidden files and folders skipped), read in place."""

    folder: Path

    @property
    def uri(self) -> str:
        return self.folder.resolve().as_uri()

    def list(self) -> list[InboxEntry]:
        if not self.folder.is_dir():
            raise FileNotFoundError(f"bank inbox folder {self.folder} does not exist")
        entries = []
        for path in sorted(self.folder.rglob("*")):
            relative = path.relative_to(self.folder)
            if path.is_file() and not any(part.startswith(".") for part in relative.parts):
                stat = path.stat()
                entries.append(InboxEntry(relative.as_posix(), f"{stat.st_size}:{stat.st_mtime_ns}"))
        return entries

    def fetch(self, entry: InboxEntry, directory: Path) -> StatementFile:
        path = self.folder / entry.name
        return StatementFile(path=path, name=entry.name, source_uri=path.resolve().as_uri())


@dataclass(frozen=True)
class S3Inbox:
    """Every object under `s3://bucket/prefix`, through a boto3 S3 client (AWS_ENDPOINT_URL honoured)."""

    bucket: str
    prefix: str
    client: Any  # a boto3 S3 client

    @classmethod
    def from_uri(cls, uri: str, client: Any) -> S3Inbox:
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"bank inbox {uri!r} is not an s3://bucket/prefix URI")
        prefix = parsed.path.lstrip("/")
        return cls(parsed.netloc, prefix if not prefix or prefix.endswith("/") else prefix + "/", client)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def list(self) -> list[InboxEntry]:
        entries = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix):]
                if name and not name.endswith("/"):
                    entries.append(InboxEntry(name, item["ETag"].strip('"')))
        return sorted(entries, key=lambda entry: entry.name)

    def fetch(self, entry: InboxEntry, directory: Path) -> StatementFile:
        key = self.prefix + entry.name
        path = directory / entry.name
        path.parent.mkdir(parents=True, exist_ok=True)
        self.client.download_file(self.bucket, key, str(path))
        return StatementFile(path=path, name=entry.name, source_uri=f"s3://{self.bucket}/{key}")


def load_inbox(
    connection: duckdb.DuckDBPyConnection,
    inbox: Inbox,
    csv_config: CsvConfig | None = None,
    names: Sequence[str] | None = None,
) -> list[LoadOutcome]:
    """Load every file of the inbox (or only `names`), each in its own transaction, in name order."""
    entries = inbox.list()
    if names is not None:
        wanted = set(names)
        entries = [entry for entry in entries if entry.name in wanted]
    loaded = progress.step("bank statements", "file", len(entries), "Bank statement files")
    with tempfile.TemporaryDirectory(prefix="bank-inbox-") as scratch:
        return [load_statement_file(connection, inbox.fetch(entry, Path(scratch)), csv_config) for entry in progress.counted(entries, loaded)]


def open_inbox(location: str, s3_client: Any | None = None) -> Inbox:
    """A folder path or an `s3://bucket/prefix` URI as an inbox; S3 through boto3 unless a client is given."""
    if location.startswith("s3://"):
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        return S3Inbox.from_uri(location, s3_client)
    return FolderInbox(Path(location))
