"""`manifest.json` of an export folder: every file with its rows, totals per currency, sha256 and ledger run.

A file whose bytes are unchanged keeps its existing entry, including the ledger run that first
produced those bytes, so re-exporting an unchanged period leaves the manifest byte-identical too.

`exceptions` lists, per ERP target, the entries that target could not carry as they are (refused,
posted in the functional currency or rounded: `exporters.currency_policy`); each export of a
target replaces its own list, and a file a target no longer writes (its exceptions file once every
entry fits, say) leaves the manifest with it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from exporters.journal import ExportedFile
from ledger.money import format_major

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class LedgerRun:
    """Which ledger a file was written from: the Dagster run that built it (when known) and its content fingerprint."""

    fingerprint: str
    dagster_run_id: str | None = None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_entry(exported: ExportedFile, ledger: LedgerRun) -> dict:
    return {
        "name": exported.path.name,
        "rows": exported.rows,
        "sha256": sha256(exported.path.read_bytes()),
        "totals": {
            currency.upper(): {
                "debit": format_major(totals.debit_minor, currency), "credit": format_major(totals.credit_minor, currency),
                "debit_minor": totals.debit_minor, "credit_minor": totals.credit_minor,
            }
            for currency, totals in exported.totals.items()
        },
        "ledger_run": {"dagster_run_id": ledger.dagster_run_id, "fingerprint": ledger.fingerprint},
    }


def merged(
    existing: dict | None, entity_id: str, period: str, entries: list[dict], retired: list[str] = (),
    exceptions: dict[str, list[dict]] | None = None,
) -> dict:
    """The folder's manifest with `entries` added or replaced by name and the `retired` files gone;
    unchanged files keep their entry. `exceptions` replaces the lists of the targets it names."""
    files = {entry["name"]: entry for entry in (existing or {}).get("files", []) if entry["name"] not in retired}
    for entry in entries:
        previous = files.get(entry["name"])
        if previous is None or previous["sha256"] != entry["sha256"]:
            files[entry["name"]] = entry
    listed = {**(existing or {}).get("exceptions", {}), **(exceptions or {})}
    manifest = {"entity": entity_id, "period": period, "files": [files[name] for name in sorted(files)]}
    listed = {target: listed[target] for target in sorted(listed) if listed[target]}
    return manifest | ({"exceptions": listed} if listed else {})


def dumps(manifest: dict) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
