"""Export or push the periods of every entity in the journal from the warehouse: the plain functions the assets and the CLI call.

Targets: `netsuite` (CSV import file), `sap` (upload template as comma CSV, semicolon CSV and
XLSX, plus the JournalEntryBulkCreateRequest XML), `generic` (journal CSV and XLSX with the
drill-down). A run covers every entity with journal lines in its periods (or the one entity asked
for), each with its own NetSuite subsidiary and SAP company code from the seed `entities`: each
entity's period goes to its folder `<entity>/<period>/`, published with its `manifest.json`, in
files whose names carry the entity and period (`netsuite_journal_entries_main_2026-10.csv`), and
to the ERP under that entity's ids. An entity lacking an id the target needs stops the run before
anything is written or pushed. The warehouse is opened read-only, only while lines are loaded.

An ERP target receives each entry as its currency policy allows (`exporters.currency_policy`):
an entry in a currency the target cannot carry is refused, posted in the functional currency or
rounded, and listed in `<target>_export_exceptions_<entity>_<period>.csv` and in the manifest;
the other entries are exported (or pushed) all the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path


from exporters import generic, netsuite, sap_soap, sap_template
from exporters.currency_policy import AppliedPolicy, CurrencyException, apply_policy, load_rounding_account, write_exceptions_csv
from exporters.entities import Entity, load_entities, select_entities
from exporters.journal import ExportedFile, JournalLine, LineSource, entity_periods, ledger_fingerprint, load_journal_lines, load_line_sources
from exporters.manifest import LedgerRun
from exporters.netsuite_rest import PushResult, VerifyResult
from exporters.publish import PublishedFile, export_folder, publish
from exporters.sap import sap_entries
from exporters.sales_detail import itemize, load_line_details
from exporters.sap_soap import SapPostResult
from exporters.settings import ExportSettings
from ledger.marts import open_marts

TARGETS = ("netsuite", "sap", "generic")
PUSH_TARGETS = ("netsuite", "sap")


@dataclass(frozen=True)
class PeriodLedger:
    entity: Entity
    period: str
    lines: list[JournalLine]
    sources: list[LineSource]
    # The lines an ERP receives: the ledger's, with the sales split's per product and jurisdiction
    # (exporters/sales_detail.py); loaded for the ERP targets only.
    erp_lines: list[JournalLine] = field(default_factory=list)


@dataclass(frozen=True)
class PeriodExport:
    entity_id: str
    period: str
    files: list[ExportedFile]
    published: list[PublishedFile]
    # Entries the target could not carry as they are: refused, or changed by the currency policy.
    exceptions: list[CurrencyException] = field(default_factory=list)


@dataclass(frozen=True)
class PushReport:
    target: str
    entity_id: str
    period: str
    results: list[PushResult | SapPostResult]
    verification: list[VerifyResult]
    # Entries the currency policy refused (never sent, not failures) or changed before sending.
    exceptions: list[CurrencyException] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        return [result.describe() for result in self.results if not result.ok] + [
            f"{check.external_id}: read-back differs: {check.detail}" for check in self.verification if not check.matches
        ]


def file_name(name: str, entity_id: str, period: str) -> str:
    """`journal.csv` -> `journal_main_2026-10.csv`: a downloaded file still says whose month it holds."""
    stem, dot, suffix = name.partition(".")
    return f"{stem}_{entity_id}_{period}{dot}{suffix}"


def load_ledgers(
    warehouse: Path, wanted: list[str] | None, entity_id: str | None = None, with_sources: bool = False, for_erp: bool = False,
) -> list[PeriodLedger]:
    """The lines of each entity's wanted periods (every period in the ledger when None; only `entity_id`
    when given), and their drill-down when asked: a big period has millions of source rows, which only
    the accountants' journal needs; `for_erp`: with the lines itemized by product and jurisdiction.
    A wanted period without lines of any selected entity is refused."""
    with open_marts(warehouse) as connection:
        present = entity_periods(connection)
        entities = {entity.entity_id: entity for entity in select_entities(load_entities(connection), {entity for entity, _ in present}, entity_id)}
        present = [(entity, period) for entity, period in present if entity in entities]
        available = sorted({period for _, period in present})
        missing = sorted(set(wanted or []) - set(available))
        if missing:
            whose = f" for entity {entity_id!r}" if entity_id else ""
            raise ValueError(f"no journal lines{whose} in period(s) {missing}; the ledger has {available}")
        ledgers = []
        for entity, period in present:
            if wanted is not None and period not in wanted:
                continue
            lines = load_journal_lines(connection, entity, period)
            ledgers.append(PeriodLedger(
                entities[entity], period, lines, load_line_sources(connection, entity, period) if with_sources else [],
                itemize(lines, load_line_details(connection, entity, period)) if for_erp else [],
            ))
        return ledgers


def _entities(ledgers: list[PeriodLedger]) -> list[Entity]:
    return list({ledger.entity.entity_id: ledger.entity for ledger in ledgers}.values())


Writer = Callable[[PeriodLedger, Path], ExportedFile]


def _writers(target: str, settings: ExportSettings, entity: Entity) -> dict[str, Writer]:
    """The target's files for one entity by name, with its ERP ids (refused here when the seed lacks one)."""
    if target == "netsuite":
        options = settings.netsuite_options(entity)
        return {"netsuite_journal_entries.csv": lambda ledger, path: netsuite.write_csv(ledger.lines, path, options)}
    if target == "sap":
        sap = settings.sap_options(entity)
        return {
            "sap_journal_entries_comma.csv": lambda ledger, path: sap_template.write_csv(ledger.lines, path, sap, sap_template.COMMA),
            "sap_journal_entries_semicolon.csv": lambda ledger, path: sap_template.write_csv(ledger.lines, path, sap, sap_template.SEMICOLON),
            "sap_journal_entries.xlsx": lambda ledger, path: sap_template.write_xlsx(ledger.lines, path, sap),
            "sap_journal_entry_bulk_create_request.xml": lambda ledger, path: sap_soap.write_xml(ledger.lines, path, sap),
        }
    if target == "generic":
        return {
            "journal.csv": lambda ledger, path: generic.write_journal_csv(ledger.lines, path),
            "journal_drilldown.csv": lambda ledger, path: generic.write_drilldown_csv(ledger.lines, ledger.sources, path),
            "journal.xlsx": lambda ledger, path: generic.write_xlsx(ledger.lines, ledger.sources, path),
        }
    raise ValueError(f"unknown export target {target!r}; choose one of {', '.join(TARGETS)}")


def _carried(warehouse: Path, settings: ExportSettings, target: str, push: bool = False) -> Callable[[PeriodLedger], AppliedPolicy]:
    """What `target` receives of a period: the entries it can carry, the others as its currency policy
    says. The generic journal carries every currency. A missing rounding account stops the run here,
    before anything is written or pushed."""
    if target not in PUSH_TARGETS:
        return lambda ledger: AppliedPolicy(ledger.lines, [])
    precision, policy = settings.currency_rules(target, push)
    with open_marts(warehouse) as connection:
        rounding = load_rounding_account(connection, policy)
    return lambda ledger: apply_policy(ledger.erp_lines, ledger.period, precision, policy, rounding)


def export_periods(
    warehouse: Path, settings: ExportSettings, target: str, wanted: list[str] | None = None, dagster_run_id: str | None = None,
    entity_id: str | None = None,
) -> list[PeriodExport]:
    """Write, prove and publish the target's files for each entity's wanted periods."""
    ledgers = load_ledgers(warehouse, wanted, entity_id, with_sources=target == "generic", for_erp=target in PUSH_TARGETS)
    # Every entity's ids first: a seed row missing one stops the run before any file is written.
    writers = {entity.entity_id: _writers(target, settings, entity) for entity in _entities(ledgers)}
    carried = _carried(warehouse, settings, target)
    exports = []
    for ledger in ledgers:
        entity = ledger.entity.entity_id
        applied = carried(ledger)
        names = {file_name(name, entity, ledger.period): write for name, write in writers[entity].items()}
        exceptions_file = file_name(f"{target}_export_exceptions.csv", entity, ledger.period)
        with export_folder(settings.destination, entity, ledger.period) as folder:
            # A period whose every entry was refused has no journal file for the target, only its exceptions.
            files = [write(replace(ledger, lines=applied.lines), folder / name) for name, write in names.items()] if applied.lines else []
            if applied.exceptions:
                files.append(write_exceptions_csv(applied.exceptions, folder / exceptions_file))
            erp = target in PUSH_TARGETS
            retired = sorted({*names, *([exceptions_file] if erp else [])} - {file.path.name for file in files})
            published = publish(
                settings.destination, entity, ledger.period, files, LedgerRun(ledger_fingerprint(ledger.lines), dagster_run_id),
                retired=retired, exceptions={target: [exception.as_dict() for exception in applied.exceptions]} if erp else None,
            )
        exports.append(PeriodExport(entity, ledger.period, files, published, applied.exceptions))
    return exports


Pusher = Callable[[PeriodLedger, AppliedPolicy], PushReport]


def _pusher(target: str, settings: ExportSettings, entity: Entity) -> Pusher:
    """Pushes one entity's periods under its own ids (refused here when an id is missing): the entries
    the currency policy lets through; the refused ones are reported, never sent."""
    if target == "netsuite":
        push = settings.netsuite_push
        # Splitting needs no subsidiary: REST takes the internal id from the client's references.
        client, options = push.client(entity), settings.netsuite

        def to_netsuite(ledger: PeriodLedger, applied: AppliedPolicy) -> PushReport:
            entries = netsuite.split_entries(applied.lines, options)
            results = client.push(entries)
            upserted = {result.external_id for result in results if result.ok}
            verification = client.verify([entry for entry in entries if entry.external_id in upserted]) if push.verify else []
            return PushReport(target, entity.entity_id, ledger.period, results, verification, applied.exceptions)

        return to_netsuite
    sap = settings.sap_options(entity)
    client = settings.sap_push.client(sap)
    return lambda ledger, applied: PushReport(
        target, entity.entity_id, ledger.period, client.post(sap_entries(applied.lines, sap)), [], applied.exceptions,
    )


def push_periods(warehouse: Path, settings: ExportSettings, target: str, wanted: list[str] | None = None, entity_id: str | None = None) -> list[PushReport]:
    """Push each entity's wanted periods to the configured NetSuite account or SAP system."""
    if target not in PUSH_TARGETS:
        raise ValueError(f"--push works with {' and '.join(PUSH_TARGETS)}, not {target!r}")
    if target == "netsuite" and settings.netsuite_push is None:
        raise ValueError("pushing to NetSuite needs NETSUITE_ACCOUNT_ID and its credentials (see docs/exports.md)")
    if target == "sap" and settings.sap_push is None:
        raise ValueError("pushing to SAP needs SAP_URL, SAP_USER and SAP_PASSWORD (see docs/exports.md)")
    ledgers = load_ledgers(warehouse, wanted, entity_id, for_erp=True)
    # Every entity's ids first: one missing stops the run before anything is sent.
    pushers = {entity.entity_id: _pusher(target, settings, entity) for entity in _entities(ledgers)}
    carried = _carried(warehouse, settings, target, push=True)
    return [pushers[ledger.entity.entity_id](ledger, carried(ledger)) for ledger in ledgers]
