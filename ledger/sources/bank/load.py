"""Land one bank statement file in `raw.bank_statement_lines`, all or nothing, exactly once.

A file is known by its content (SHA-256): the same bytes loaded again add nothing, whatever
their name. New bytes under a name already loaded are a new version of that file: they load
with a warning, and staging reads only the newest version of each name. A file the parser
refuses is quarantined: registered with its line and reason, none of its lines loaded, and the
same bytes are not tried again (a corrected file has other bytes and loads).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa

from ledger.sources.bank.csv_statement import CsvConfig
from ledger.sources.bank.model import BankStatementError, ParsedStatement
from ledger.sources.bank.parse import parse_statement_file

LoadStatus = Literal["loaded", "new_version", "already_loaded", "quarantined", "already_quarantined"]

_LINE_COLUMNS = (
    "bank_statement_line_id", "bank_account_id", "booking_date", "value_date", "amount_minor", "currency",
    "direction", "entry_status", "bank_reference", "customer_reference", "transaction_code", "text",
    "file_name", "file_position", "file_line", "file_sha256", "_loaded_at",
)


@dataclass(frozen=True)
class StatementFile:
    """A file to load: where it is on disk now, the name it is known by, and where it came from."""

    path: Path
    name: str  # e.g. "2026-10/acme.bai2": the folder- or prefix-relative name versions are kept under
    source_uri: str  # e.g. "file:///inbox/2026-10/acme.bai2" or "s3://bucket/bank/2026-10/acme.bai2"


@dataclass(frozen=True)
class LoadOutcome:
    name: str
    file_sha256: str
    status: LoadStatus
    version: int | None  # the version number under `name`; None when quarantined
    lines: int  # lines added by this load (0 unless status is loaded or new_version)
    message: str | None  # the refusal of a (still) quarantined file, the new-version warning, parser warnings

    @property
    def failed(self) -> bool:
        return self.status in ("quarantined", "already_quarantined")


def load_statement_file(
    connection: duckdb.DuckDBPyConnection, file: StatementFile, csv_config: CsvConfig | None = None
) -> LoadOutcome:
    """Parse `file` completely, then register and land it in one transaction (or quarantine it).

    `csv_config` is the column mapping for files named `*.csv`; other files are detected by content.
    """
    sha256 = hashlib.sha256(file.path.read_bytes()).hexdigest()
    known = connection.execute(
        "select status, version, error_line, error_reason from raw.bank_statement_files where file_sha256 = ?",
        [sha256],
    ).fetchone()
    if known is not None:
        status, version, error_line, error_reason = known
        if status == "loaded":
            return LoadOutcome(file.name, sha256, "already_loaded", version, 0, None)
        refusal = str(BankStatementError(file.name, error_line, error_reason))
        return LoadOutcome(file.name, sha256, "already_quarantined", version, 0, refusal)
    try:
        parsed = parse_statement_file(file.path, csv_config=csv_config if file.name.lower().endswith(".csv") else None)
    except BankStatementError as error:
        _register(connection, file, sha256, None, "quarantined", 0, error.line, error.reason, ())
        return LoadOutcome(file.name, sha256, "quarantined", None, 0, str(error))
    previous = connection.execute(
        "select max(version) from raw.bank_statement_files where file_name = ? and status = 'loaded'", [file.name]
    ).fetchone()[0]
    version = (previous or 0) + 1
    warnings = list(parsed.warnings)
    if previous:
        warnings.insert(
            0,
            f"{file.name} changed since version {previous}: loaded as version {version}, whose lines replace"
            f" those of version {previous} (ask the bank why a statement file was sent again with other content)",
        )
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    lines = _line_rows(parsed, file.name, loaded_at)
    connection.execute("begin transaction")
    try:
        _register(connection, file, sha256, parsed.format, "loaded", lines.num_rows, None, None, warnings, version, loaded_at)
        connection.register("incoming_bank_lines", lines)
        connection.execute("insert into raw.bank_statement_lines by name select * from incoming_bank_lines")
        connection.execute("commit")
    except Exception:
        connection.execute("rollback")
        raise
    finally:
        connection.unregister("incoming_bank_lines")
    return LoadOutcome(
        file.name, sha256, "new_version" if previous else "loaded", version, lines.num_rows, "; ".join(warnings) or None
    )


def bank_statement_line_id(file_sha256: str, position: int) -> str:
    """Same file content and entry position, same id: a line's id survives any number of reloads."""
    return "bsl_" + hashlib.blake2b(f"{file_sha256}:{position}".encode(), digest_size=12).hexdigest()


def _line_rows(parsed: ParsedStatement, name: str, loaded_at: datetime) -> pa.Table:
    entries = parsed.entries
    columns = {
        "bank_statement_line_id": [bank_statement_line_id(parsed.file_sha256, n) for n in range(1, len(entries) + 1)],
        "bank_account_id": [e.account_id for e in entries],
        "booking_date": [e.booking_date for e in entries],
        "value_date": [e.value_date for e in entries],
        "amount_minor": [e.amount_minor for e in entries],
        "currency": [e.currency for e in entries],
        "direction": [e.direction for e in entries],
        "entry_status": [e.status for e in entries],
        "bank_reference": [e.bank_reference for e in entries],
        "customer_reference": [e.customer_reference for e in entries],
        "transaction_code": [e.transaction_code for e in entries],
        "text": [e.text for e in entries],
        "file_name": [name] * len(entries),
        "file_position": list(range(1, len(entries) + 1)),
        "file_line": [e.line for e in entries],
        "file_sha256": [parsed.file_sha256] * len(entries),
        "_loaded_at": [loaded_at] * len(entries),
    }
    return pa.table({column: columns[column] for column in _LINE_COLUMNS})


def _register(
    connection: duckdb.DuckDBPyConnection,
    file: StatementFile,
    sha256: str,
    format: str | None,
    status: str,
    line_count: int,
    error_line: int | None,
    error_reason: str | None,
    warnings: list[str] | tuple[str, ...],
    version: int | None = None,
    loaded_at: datetime | None = None,
) -> None:
    connection.execute(
        "insert into raw.bank_statement_files values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            sha256, file.name, file.source_uri, format, version, status, line_count, error_line, error_reason,
            list(warnings), loaded_at or datetime.now(timezone.utc).replace(tzinfo=None),
        ],
    )
