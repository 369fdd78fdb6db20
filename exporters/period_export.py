"""Export or push one entity's periods from the warehouse: the plain functions the assets and the CLI call.

Targets: `netsuite` (CSV import file), `sap` (upload template as comma CSV, semicolon CSV and
XLSX, plus the JournalEntryBulkCreateRequest XML), `generic` (journal CSV and XLSX with the
drill-down). Each period's folder `<entity>/<period>/` is published with its `manifest.json`.
The warehouse is opened read-only, only while lines are loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from exporters import generic, netsuite, sap_soap, sap_template
from exporters.journal import ExportedFile, JournalLine, LineSource, ledger_fingerprint, load_journal_lines, load_line_sources, periods
from exporters.manifest import LedgerRun
from exporters.netsuite_rest import PushResult, VerifyResult
from exporters.publish import PublishedFile, export_folder, publish
from exporters.sap import sap_entries
from exporters.sap_soap import SapPostResult
from exporters.settings import ExportSettings

TARGETS = ("netsuite", "sap", "generic")
PUSH_TARGETS = ("netsuite", "sap")
NETSUITE_FILE = "netsuite_journal_entries.csv"


@dataclass(frozen=True)
class PeriodLedger:
    period: str
    lines: list[JournalLine]
    sources: list[LineSource]


@dataclass(frozen=True)
class PeriodExport:
    period: str
    files: list[ExportedFile]
    published: list[PublishedFile]


@dataclass(frozen=True)
class PushReport:
    target: str
    period: str
    results: list[PushResult | SapPostResult]
    verification: list[VerifyResult]

    @property
    def failures(self) -> list[str]:
        return [result.describe() for result in self.results if not result.ok] + [
            f"{check.external_id}: read-back differs: {check.detail}" for check in self.verification if not check.matches
        ]


def load_periods(warehouse: Path, entity_id: str, wanted: list[str] | None, with_sources: bool = False) -> list[PeriodLedger]:
    """The lines of each wanted period (every period in the ledger when None), and its drill-down when asked:
    a big period has millions of source rows, which only the accountants' journal needs."""
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        available = periods(connection, entity_id)
        missing = sorted(set(wanted or []) - set(available))
        if missing:
            raise ValueError(f"no journal lines for entity {entity_id!r} in period(s) {missing}; the ledger has {available}")
        return [
            PeriodLedger(period, load_journal_lines(connection, entity_id, period), load_line_sources(connection, entity_id, period) if with_sources else [])
            for period in wanted or available
        ]
    finally:
        connection.close()


def _writers(target: str, settings: ExportSettings) -> list[Callable[[PeriodLedger, Path], ExportedFile]]:
    if target == "netsuite":
        return [lambda ledger, folder: netsuite.write_csv(ledger.lines, folder / NETSUITE_FILE, settings.netsuite)]
    if target == "sap":
        return [
            lambda ledger, folder: sap_template.write_csv(ledger.lines, folder / "sap_journal_entries_comma.csv", settings.sap, sap_template.COMMA),
            lambda ledger, folder: sap_template.write_csv(ledger.lines, folder / "sap_journal_entries_semicolon.csv", settings.sap, sap_template.SEMICOLON),
            lambda ledger, folder: sap_template.write_xlsx(ledger.lines, folder / "sap_journal_entries.xlsx", settings.sap),
            lambda ledger, folder: sap_soap.write_xml(ledger.lines, folder / "sap_journal_entry_bulk_create_request.xml", settings.sap),
        ]
    if target == "generic":
        return [
            lambda ledger, folder: generic.write_journal_csv(ledger.lines, folder / "journal.csv"),
            lambda ledger, folder: generic.write_drilldown_csv(ledger.lines, ledger.sources, folder / "journal_drilldown.csv"),
            lambda ledger, folder: generic.write_xlsx(ledger.lines, ledger.sources, folder / "journal.xlsx"),
        ]
    raise ValueError(f"unknown export target {target!r}; choose one of {', '.join(TARGETS)}")


def export_periods(warehouse: Path, settings: ExportSettings, target: str, wanted: list[str] | None = None, dagster_run_id: str | None = None) -> list[PeriodExport]:
    """Write, prove and publish the target's files for each wanted period."""
    writers = _writers(target, settings)
    exports = []
    for ledger in load_periods(warehouse, settings.entity_id, wanted, with_sources=target == "generic"):
        with export_folder(settings.destination, settings.entity_id, ledger.period) as folder:
            files = [write(ledger, folder) for write in writers]
            published = publish(settings.destination, settings.entity_id, ledger.period, files, LedgerRun(ledger_fingerprint(ledger.lines), dagster_run_id))
        exports.append(PeriodExport(ledger.period, files, published))
    return exports


def push_periods(warehouse: Path, settings: ExportSettings, target: str, wanted: list[str] | None = None) -> list[PushReport]:
    """Push each wanted period's entries to the configured NetSuite account or SAP system."""
    if target not in PUSH_TARGETS:
        raise ValueError(f"--push works with {' and '.join(PUSH_TARGETS)}, not {target!r}")
    if target == "netsuite" and settings.netsuite_push is None:
        raise ValueError("pushing to NetSuite needs NETSUITE_ACCOUNT_ID and its credentials (see docs/exports.md)")
    if target == "sap" and settings.sap_push is None:
        raise ValueError("pushing to SAP needs SAP_URL, SAP_USER and SAP_PASSWORD (see docs/exports.md)")
    reports = []
    for ledger in load_periods(warehouse, settings.entity_id, wanted):
        if target == "netsuite":
            client = settings.netsuite_push.client()
            entries = netsuite.split_entries(ledger.lines, settings.netsuite)
            results = client.push(entries)
            upserted = {result.external_id for result in results if result.ok}
            verification = client.verify([entry for entry in entries if entry.external_id in upserted]) if settings.netsuite_push.verify else []
            reports.append(PushReport(target, ledger.period, results, verification))
        else:
            results = settings.sap_push.client(settings.sap).post(sap_entries(ledger.lines, settings.sap))
            reports.append(PushReport(target, ledger.period, results, []))
    return reports
