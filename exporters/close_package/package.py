"""Build and publish a period's close packages, one per entity: `<exports>/<entity>/<period>/close_package/`
on disk or under CLOSE_EXPORT_S3_URI, each with its own `manifest.json` (rows, trial-balance totals, sha256).

A run covers every entity with journal lines through its periods (or the one asked for). Every
entity's figures are read before any file is written, so a refusal (an entity missing from the
seed, a period without lines) writes nothing. A package that cannot be written is named with its
entity and period after the others are written: one entity's failure leaves the others' packages whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from exporters.journal import CurrencyTotals, ExportedFile
from exporters.manifest import LedgerRun
from exporters.publish import Destination, PublishedFile, export_folder, publish
from exporters.close_package.close_data import CloseData, CloseDataError, PackageContext
from exporters.close_package.frozen import FrozenPackage, load_package_data
from exporters.close_package.html import write_html
from exporters.close_package.status import NOT_RECORDED, ProofResults
from exporters.close_package.workbook import write_workbook
from ledger import failpoints

PACKAGE_FOLDER = "close_package"


class ClosePackageError(CloseDataError):
    """Some entities' packages could not be written; the message names each one and why."""


@dataclass(frozen=True)
class ClosePackage:
    data: CloseData
    files: list[ExportedFile]
    published: list[PublishedFile]
    # A locked period's package: rendered from the figures frozen with its lock (None: an open period, from the marts).
    frozen: FrozenPackage | None = None

    @property
    def html(self) -> PublishedFile:
        return next(file for file in self.published if file.name.endswith(".html"))

    @property
    def workbook(self) -> PublishedFile:
        return next(file for file in self.published if file.name.endswith(".xlsx"))


def file_stem(entity_id: str, period: str) -> str:
    return f"close_package_{entity_id}_{period}"


def build_close_packages(
    warehouse: Path, destination: Destination, periods: list[str], default_entity_id: str, entity_id: str | None = None,
    dagster_run_id: str | None = None, *, proofs: ProofResults = NOT_RECORDED, generated_at: datetime | None = None,
    reporting_timezone: str = "UTC",
) -> list[ClosePackage]:
    """Write and publish the HTML file and the workbook of each entity's period. `default_entity_id`
    (CLOSE_ENTITY_ID) is the entity whose package also lists the bank lines that match no payout.
    `proofs`: the blocking proofs' results as the close recorded them (the status block shows them);
    `generated_at`: the time the packages show (default now), the same for every package of the run."""
    generated_at = generated_at or datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    context = PackageContext(proofs, dagster_run_id, generated_at, reporting_timezone)
    figures = load_package_data(warehouse, periods, default_entity_id, entity_id, context)
    packages, failures = [], []
    for data, frozen in figures:
        try:
            packages.append(_write_package(destination, data, frozen))
        except Exception as error:  # any cause: the run goes on, and the error names whose package it was
            failures.append(f"entity {data.entity_id!r} period {data.period}: {type(error).__name__}: {error}")
    if failures:
        written = ", ".join(f"{package.data.entity_id} {package.data.period}" for package in packages) or "none"
        raise ClosePackageError(f"close package(s) not written: {'; '.join(failures)}; written and published: {written}")
    return packages


def _write_package(destination: Destination, data: CloseData, frozen: FrozenPackage | None) -> ClosePackage:
    # The trial balance's period debits and credits, as the manifest records for every export file.
    totals = {
        currency: CurrencyTotals(
            sum(line.debits_minor for line in data.trial_balance if line.currency == currency),
            sum(line.credits_minor for line in data.trial_balance if line.currency == currency),
        )
        for currency in data.currencies
    }
    with export_folder(destination, data.entity_id, data.period, PACKAGE_FOLDER) as folder:
        stem = file_stem(data.entity_id, data.period)
        html = ExportedFile(write_html(data, folder / f"{stem}.html"), len(data.trial_balance), totals)
        failpoints.reached("package.html")
        files = [html, ExportedFile(write_workbook(data, folder / f"{stem}.xlsx"), len(data.trial_balance), totals)]
        published = publish(destination, data.entity_id, data.period, files, LedgerRun(data.provenance.ledger_fingerprint, data.provenance.dagster_run_id), PACKAGE_FOLDER)
    return ClosePackage(data, files, published, frozen)

