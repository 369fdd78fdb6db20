"""Links a browser can follow to a period's files: every export and the close package, over http.

On disk, the exports folder is served read-only at CLOSE_DOWNLOAD_BASE_URL (`stripe-close ui` serves
it itself, `download_server.py`; in production any web server or reverse proxy in front of the
folder does); on S3, each file gets a presigned link. Without a base URL a local file has no link,
and the metadata says how to get one rather than showing a path to copy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import boto3

from exporters.publish import Destination, PublishedFile, presigned_url

DOWNLOAD_BASE_VARIABLE = "CLOSE_DOWNLOAD_BASE_URL"


@dataclass(frozen=True)
class Download:
    """One file of an entity's period: `name` is its path inside the period folder
    (`close_package/close_package_main_2026-10.html`), `url` empty when it cannot be served."""

    entity_id: str
    name: str
    location: str
    url: str


def download_base() -> str:
    """The URL the exports folder is served at, without a trailing slash; empty when not served."""
    return os.environ.get(DOWNLOAD_BASE_VARIABLE, "").strip().rstrip("/")


def local_url(path: Path, root: Path, base: str) -> str:
    """`base` + the file's path under the served `root`; empty without a base or outside the root."""
    if not base or not path.resolve().is_relative_to(root.resolve()):
        return ""
    return f"{base}/{quote(path.resolve().relative_to(root.resolve()).as_posix())}"


def published_url(published: PublishedFile, root: Path | None, base: str) -> str:
    """The download link of a file just published: presigned on S3, under `base` on disk."""
    if published.download_url:
        return published.download_url
    return local_url(Path(published.location), root, base) if root is not None else ""


def period_downloads(destination: Destination, period: str, base: str) -> list[Download]:
    """Every file of `period`, of every entity, sorted by entity and name (the manifests included)."""
    if destination.directory is not None:
        return _local_downloads(destination.directory, period, base)
    return _s3_downloads(destination, period)


def _local_downloads(root: Path, period: str, base: str) -> list[Download]:
    if not root.is_dir():
        return []
    downloads = []
    for folder in sorted(entity / period for entity in root.iterdir() if (entity / period).is_dir()):
        for path in sorted(path for path in folder.rglob("*") if path.is_file()):
            name = path.relative_to(folder).as_posix()
            # A writer's temporary file (`.name.xxx.tmp`) is not a file to hand out.
            if not any(part.startswith(".") for part in Path(name).parts):
                downloads.append(Download(folder.parent.name, name, str(path), local_url(path, root, base)))
    return downloads


def _s3_downloads(destination: Destination, period: str) -> list[Download]:
    s3 = boto3.client("s3")
    prefix = destination.key("", "", "")
    downloads = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=destination.bucket, Prefix=f"{prefix}/" if prefix else ""):
        for item in page.get("Contents", []):
            parts = item["Key"][len(prefix) + 1 if prefix else 0:].split("/")
            if len(parts) >= 3 and parts[1] == period:
                url = presigned_url(s3, destination.bucket, item["Key"])
                downloads.append(Download(parts[0], "/".join(parts[2:]), f"s3://{destination.bucket}/{item['Key']}", url))
    return sorted(downloads, key=lambda download: (download.entity_id, download.name))
