"""Build and publish a period's close package: `<exports>/<entity>/<period>/close_package/` on disk
or under CLOSE_EXPORT_S3_URI, with its own `manifest.json` (rows, trial-balance totals, sha256)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from exporters.journal import CurrencyTotals, ExportedFile
from exporters.manifest import LedgerRun
from exporters.publish import Destination, PublishedFile, export_folder, publish
from exporters.close_package.close_data import CloseData, load_close_data
from exporters.close_package.html import write_html
from exporters.close_package.workbook import write_workbook

PACKAGE_FOLDER = "close_package"


@dataclass(frozen=True)
class ClosePackage:
    data: CloseData
    files: list[ExportedFile]
    published: list[PublishedFile]

    @property
    def html(self) -> PublishedFile:
        return next(file for file in self.published if file.name.endswith(".html"))

    @property
    def workbook(self) -> PublishedFile:
        return next(file for file in self.published if file.name.endswith(".xlsx"))


def file_stem(entity_id: str, period: str) -> str:
    return f"close_package_{entity_id}_{period}"


def build_close_package(warehouse: Path, destination: Destination, entity_id: str, period: str, dagster_run_id: str | None = None) -> ClosePackage:
    """Write the HTML file and the workbook for `period` and publish them."""
    data = load_close_data(warehouse, entity_id, period)
    # The trial balance's period debits and credits, as the manifest records for every export file.
    totals = {
        currency: CurrencyTotals(
            sum(line.debits_minor for line in data.trial_balance if line.currency == currency),
            sum(line.credits_minor for line in data.trial_balance if line.currency == currency),
        )
        for currency in data.currencies
    }
    with export_folder(destination, entity_id, period, PACKAGE_FOLDER) as folder:
        stem = file_stem(entity_id, period)
        files = [
            ExportedFile(write_html(data, folder / f"{stem}.html"), len(data.trial_balance), totals),
            ExportedFile(write_workbook(data, folder / f"{stem}.xlsx"), len(data.trial_balance), totals),
        ]
        published = publish(destination, entity_id, period, files, LedgerRun(_fingerprint(data), dagster_run_id), PACKAGE_FOLDER)
    return ClosePackage(data, files, published)


def _fingerprint(data: CloseData) -> str:
    return hashlib.sha256(repr(data).encode()).hexdigest()
