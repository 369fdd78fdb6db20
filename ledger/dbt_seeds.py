"""Load the accounting configuration (dbt seeds) only when it changed since the warehouse last got it.

Every build used to reload the ten seeds and re-run their 39 tests: about 50 of the build's 186
dbt nodes, and the first two seconds of it, since staging waits for the `entities` seed and its
tests. A warehouse now records the fingerprint of the configuration its last successful build
loaded: the seed files (dbt's checksum of each), their settings and column types, and the tests
that read only seeds, with the test macros they call. While it matches, a build selects the models
and every test that reads a model (a journal account missing from the chart still fails), but not
the seeds nor the seed-only tests, which would prove again what the recorded load proved. Any
change to a seed file, its YAML or a seed test reloads and re-tests everything. A run that loads
seeds drops the record as it starts (macro forget_loaded_configuration), so a load by any other
runner (dagster-dbt, a hand-run `dbt seed`) makes the next build load again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

FINGERPRINT_TABLE = "accounting.configuration_loaded"
# What defines a seed or a test: a build adds compiled code and timings to the manifest's nodes,
# so the whole node would fingerprint differently after every build.
DEFINING_FIELDS = ("unique_id", "checksum", "config", "columns", "raw_code", "test_metadata", "depends_on")


def _seed_only_tests(manifest) -> list:
    return [
        node for node in manifest.nodes.values()
        if node.resource_type == "test" and node.depends_on.nodes and all(parent.startswith("seed.") for parent in node.depends_on.nodes)
    ]


def configuration_fingerprint(manifest) -> str:
    """What the seeds and their tests are: the same fingerprint means the same tables and verdicts."""
    nodes = [node for node in manifest.nodes.values() if node.resource_type == "seed"] + _seed_only_tests(manifest)
    described = []
    for node in sorted(nodes, key=lambda node: node.unique_id):
        fields = {name: value for name, value in node.to_dict().items() if name in DEFINING_FIELDS}
        macros = {macro: manifest.macros[macro].macro_sql for macro in node.depends_on.macros if macro in manifest.macros}
        described.append((fields, macros))
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
    if not Path(warehouse).exists():
        return None
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        schema, table = FINGERPRINT_TABLE.split(".")
        exists = connection.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
        ).fetchone()[0]
        return connection.execute(f"select fingerprint from {FINGERPRINT_TABLE}").fetchone()[0] if exists else None
    finally:
        connection.close()


def record_loaded(warehouse: Path, fingerprint: str) -> None:
    connection = duckdb.connect(str(warehouse))
    try:
        connection.execute(f"create or replace table {FINGERPRINT_TABLE} as select ? as fingerprint", [fingerprint])
    finally:
        connection.close()
