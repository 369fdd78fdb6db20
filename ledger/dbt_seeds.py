"""Load the accounting configuration (dbt seeds) only when it changed since the warehouse last got it.

Every build used to reload the seeds (14 now) and re-run their tests (76): about 90 of a windowed
build's 282 dbt nodes and a quarter of its CPU, since staging waits for the `entities` seed and
its tests. A warehouse now records the fingerprint of the configuration its last successful load
holds, with the time of that load: the seed files (dbt's checksum of each), their settings and
column types, and the tests that read only seeds, with the project's macros they call (and the
macros those call), plus the versions of dbt and of its adapter, whose macros load the seeds and
write the generic tests. While it matches, a build selects the models and every test that reads a
model (a journal account missing from the chart still fails), but not the seeds nor the seed-only
tests, which would prove again what the recorded load proved. Any change to a seed file, its YAML,
a seed test or a macro it calls reloads and re-tests everything.

The fingerprint is the same in every process and environment: the nodes' dbt-internal macro lists
are left out because running a test adds to them the macros its materialization called
(`statement`, `should_store_failures`), so a process that had built once recorded a fingerprint no
new process (an hourly `stripe-close` run, a Dagster run) computed, and each of those reloaded.

A run that loads seeds drops the record as it starts (macro forget_loaded_configuration), so a
load by any other runner (a hand-run `dbt seed`) makes the next build load again; the Dagster asset
`accounting_config_seeds` records its loads and skips unchanged ones, as `build_ledger` does.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from datetime import datetime, timezone
from pathlib import Path

import duckdb

FINGERPRINT_TABLE = "accounting.configuration_loaded"
# What defines a seed or a test: a build adds compiled code and timings to the manifest's nodes,
# so the whole node would fingerprint differently after every build. Of depends_on, the nodes
# (the macros are the project's, _project_macros_called).
DEFINING_FIELDS = ("unique_id", "checksum", "config", "columns", "raw_code", "test_metadata", "depends_on")


def _seed_only_tests(manifest) -> list:
    return [
        node for node in manifest.nodes.values()
        if node.resource_type == "test" and node.depends_on.nodes and all(parent.startswith("seed.") for parent in node.depends_on.nodes)
    ]


def _project_macros_called(manifest, node) -> dict[str, str]:
    """The SQL of the project's macros `node` calls, and of the project macros those call in turn.

    Only the project's: running a test adds to its depends_on.macros the dbt macros its
    materialization called (statement, should_store_failures), so a process that has built once
    would see other macros than a fresh parse of the same project. dbt's and its adapter's own
    macros are named by their versions instead (_dbt_versions).
    """
    project = manifest.metadata.project_name
    called, pending = {}, [macro for macro in node.depends_on.macros if macro in manifest.macros]
    while pending:
        macro = manifest.macros[pending.pop()]
        if macro.package_name == project and macro.unique_id not in called:
            called[macro.unique_id] = macro.macro_sql
            pending += [inner for inner in macro.depends_on.macros if inner in manifest.macros]
    return called


def _dbt_versions(manifest) -> dict[str, str]:
    """The versions of dbt and of the adapter: their macros load the seeds and write the generic tests."""
    adapter = f"dbt-{manifest.metadata.adapter_type}"
    return {"dbt-core": manifest.metadata.dbt_version, adapter: importlib.metadata.version(adapter)}


def defining_fields(node) -> dict:
    """What defines a manifest node (DEFINING_FIELDS), without the dbt-internal macros it called."""
    fields = {name: value for name, value in node.to_dict().items() if name in DEFINING_FIELDS}
    fields["depends_on"].pop("macros", None)
    return fields


def configuration_fingerprint(manifest) -> str:
    """What the seeds and their tests are: the same fingerprint means the same tables and verdicts,
    in any process (a fresh one or one that has already built the project) and any environment."""
    nodes = [node for node in manifest.nodes.values() if node.resource_type == "seed"] + _seed_only_tests(manifest)
    described = [_dbt_versions(manifest)]
    for node in sorted(nodes, key=lambda node: node.unique_id):
        described.append((defining_fields(node), _project_macros_called(manifest, node)))
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()


def selection_without_configuration(manifest) -> list[str]:
    """dbt build arguments for every model and test except the seeds and the tests of seeds alone.

    Every model, and by dbt's eager indirect selection every test that reads one (a test of a model
    against a seed included); named, the tests that read neither a model nor only seeds (sources).
    """
    seed_only = {test.unique_id for test in _seed_only_tests(manifest)}
    unreached = [
        node.name for node in manifest.nodes.values()
        if node.resource_type == "test" and node.unique_id not in seed_only
        and not any(parent.startswith("model.") for parent in node.depends_on.nodes)
    ]
    return ["--select", "resource_type:model", *sorted(unreached), "--indirect-selection", "eager"]


def loaded_fingerprint(warehouse: Path) -> str | None:
    """The fingerprint of the configuration `warehouse` holds, or None (never loaded, or another version)."""
    loaded = _loaded(warehouse)
    return loaded[0] if loaded else None


def loaded_since(warehouse: Path, fingerprint: str) -> datetime | None:
    """When `warehouse` loaded the configuration of `fingerprint` (UTC), or None when it holds another."""
    loaded = _loaded(warehouse)
    return loaded[1] if loaded and loaded[0] == fingerprint else None


def _loaded(warehouse: Path) -> tuple[str, datetime] | None:
    if not Path(warehouse).exists():
        return None
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        schema, table = FINGERPRINT_TABLE.split(".")
        # A record without its time is an older version's: its fingerprint is of another recipe too.
        columns = {name for (name,) in connection.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?", [schema, table]
        ).fetchall()}
        return connection.execute(f"select fingerprint, loaded_at from {FINGERPRINT_TABLE}").fetchone() if "loaded_at" in columns else None
    finally:
        connection.close()


def record_loaded(warehouse: Path, fingerprint: str) -> None:
    connection = duckdb.connect(str(warehouse))
    try:
        connection.execute(
            f"create or replace table {FINGERPRINT_TABLE} as select ? as fingerprint, ? as loaded_at",
            [fingerprint, datetime.now(timezone.utc).replace(tzinfo=None)],
        )
    finally:
        connection.close()
