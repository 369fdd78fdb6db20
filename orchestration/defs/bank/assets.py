"""Bank statements: the inbox (folder or S3 prefix) landed in the warehouse, and the sensor watching it."""

import hashlib
import json

import dagster as dg

from ledger import warehouse as ledger_warehouse
from ledger.sources.bank.file_warnings import current_file_warnings
from ledger.sources.bank.inbox import load_inbox
from orchestration.defs.bank.resources import BankInboxResource
from orchestration.defs.resources import WarehouseResource
from orchestration.finance_metadata import table_metadata
from orchestration import groups

BANK_TABLES = {
    "bank_statement_lines": "Every entry of every loaded bank statement file version (raw landing).",
    "bank_statement_files": "The register of statement files: loaded versions and quarantined files with their errors.",
}
BANK_ASSET_KEYS = [dg.AssetKey(["bank", table]) for table in BANK_TABLES]


class BankLoadConfig(dg.Config):
    """Which inbox files to load (names relative to the inbox); empty loads every file not loaded yet."""

    names: list[str] = []


@dg.multi_asset(
    name="bank_statement_load",
    specs=[
        dg.AssetSpec(key=["bank", table], description=description, group_name=groups.SOURCES, kinds={"duckdb", "s3"})
        for table, description in BANK_TABLES.items()
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "no_quarantined_files",
            asset=dg.AssetKey(["bank", "bank_statement_files"]),
            description="Every statement file in the inbox could be read; a refused one waits in quarantine.",
        ),
        dg.AssetCheckSpec(
            "no_file_warnings",
            asset=dg.AssetKey(["bank", "bank_statement_files"]),
            description=(
                "The loaded statement files were read as written: no departure from the format read as assumed,"
                " no closing balance that fails to add up, no new version (each warning is also a reconciliation exception)."
            ),
        ),
    ],
    pool="duckdb",
)
def bank_statement_load(
    context: dg.AssetExecutionContext, config: BankLoadConfig, bank_inbox: BankInboxResource, warehouse: WarehouseResource
):
    """Loads new statement files of the bank inbox (BAI2, camt, MT940, CSV), each all or nothing; refused files are quarantined."""
    inbox = bank_inbox.inbox()
    with ledger_warehouse.connect(warehouse.file) as connection:
        outcomes = load_inbox(connection, inbox, bank_inbox.csv_config(), config.names or None) if inbox else []
        figures = {table: table_metadata(connection, "raw", table) for table in BANK_TABLES}
        quarantine = connection.execute(
            "select file_name, error_line, error_reason from raw.bank_statement_files where status = 'quarantined' order by file_name"
        ).fetchall()
        file_warnings = current_file_warnings(connection)
    for outcome in outcomes:
        log = context.log.warning if outcome.message else context.log.info
        log(f"{outcome.name}: {outcome.status}, {outcome.lines} lines" + (f"; {outcome.message}" if outcome.message else ""))
    statuses = {status: sum(o.status == status for o in outcomes) for status in ("loaded", "new_version", "already_loaded", "quarantined")}
    run_figures = {f"files_{status}": count for status, count in statuses.items()}
    for table in BANK_TABLES:
        yield dg.MaterializeResult(
            asset_key=["bank", table],
            metadata={**figures[table], "lines_added": sum(o.lines for o in outcomes), **run_figures},
        )
    yield dg.AssetCheckResult(
        check_name="no_quarantined_files",
        asset_key=["bank", "bank_statement_files"],
        passed=not quarantine,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"quarantined": dg.MetadataValue.md(
            "\n".join(f"- {name}, line {line}: {reason}" for name, line, reason in quarantine) or "none"
        )},
    )
    yield dg.AssetCheckResult(
        check_name="no_file_warnings",
        asset_key=["bank", "bank_statement_files"],
        passed=not file_warnings,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "warnings": len(file_warnings),
            "files": dg.MetadataValue.md("\n".join(f"- {name}: {warning}" for name, warning in file_warnings) or "none"),
        },
    )


@dg.sensor(
    name="bank_inbox_sensor",
    asset_selection=dg.AssetSelection.assets(*BANK_ASSET_KEYS),
    minimum_interval_seconds=60,
    description="Loads new or changed files of the bank inbox (listed only: the sensor never opens the warehouse).",
)
def bank_inbox_sensor(context: dg.SensorEvaluationContext, bank_inbox: BankInboxResource):
    inbox = bank_inbox.inbox()
    if inbox is None:
        return dg.SkipReason("no bank inbox configured (CLOSE_BANK_INBOX)")
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    listing = {entry.name: entry.change_token for entry in inbox.list()}
    changed = sorted(name for name, token in listing.items() if seen.get(name) != token)
    if not changed:
        return dg.SkipReason(f"no new or changed files in {inbox.uri}")
    run_key = hashlib.sha256(json.dumps({name: listing[name] for name in changed}, sort_keys=True).encode()).hexdigest()
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=run_key,
                run_config={"ops": {"bank_statement_load": {"config": {"names": changed}}}},
                tags={"bank/files": str(len(changed))},
            )
        ],
        cursor=json.dumps(listing, sort_keys=True),
    )
