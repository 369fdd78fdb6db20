"""Which dbt nodes a windowed build runs: those whose inputs can have changed since the last complete build.

A windowed build used to run every model and test (about 200 nodes once the seeds were skipped):
every staging view and its column tests over the whole history, whatever the hour brought. dbt's
fixed cost per node made the hourly run cost what a whole build costs (docs/benchmarks.md,
"Continuous close"). A node's result can change only when one of its inputs changed, so a windowed
build selects the models downstream of:

- the raw tables that received rows since the last complete build (a newer `_loaded_at`: ingestion
  and bank loads stamp every row they write with the time they load it);
- the sources without a load time (the period-close tables), always: a lock or reopen changes them;
- the models tagged `reads_the_clock`, always: their rows age with today's date;

with every test that reads one of those (dbt's eager indirect selection), the journal's proofs
included. Everything else is as the last complete build left it, built and proven on the same
inputs by the same project.

That holds only while the project and settings are those of that build. `ledger.dbt_build` records,
after each successful build that ran every node (or that narrowed by this same rule), the project's
fingerprint (models, tests, macros, configuration, the settings dbt reads) and the newest
`_loaded_at` of each source it read. Every dbt run, by any runner (a Dagster run, `dbt` by hand),
drops that record as it starts (macro forget_complete_build), and a failed build does not write it,
so the next windowed build runs every node again: a model left failed or a proof left failing is
never passed over because its inputs did not change since.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from ledger import dbt_seeds, warehouse

RECORD_TABLE = "close.complete_build_sources"
# Models whose rows depend on the day the build runs (the age of a suspense posting, of a bank item).
CLOCK_TAG = "reads_the_clock"
# Settings dbt reads that say where, not what: the same ledger copied elsewhere is the same ledger.
PLACE_SETTINGS = ("CLOSE_WAREHOUSE", "CLOSE_SPARK_DIR", "CLOSE_WINDOW_START", "CLOSE_WINDOW_END")


def project_fingerprint(manifest, settings: Mapping[str, str], runner: str = "") -> str:
    """What the project builds and proves, and with which settings: the configuration (ledger.dbt_seeds),
    every model and test as defined, the project's macros, and the CLOSE_ and DBT_ settings dbt sees.
    A `runner` that keeps its own record of what was proven (Dagster's check evaluations) narrows
    only after its own complete builds."""
    project = manifest.metadata.project_name
    nodes = sorted(
        (node for node in manifest.nodes.values() if node.resource_type in ("model", "test", "operation")),
        key=lambda node: node.unique_id,
    )
    described = [dbt_seeds.configuration_fingerprint(manifest), *(dbt_seeds.defining_fields(node) for node in nodes)]
    described.append(sorted((macro.unique_id, macro.macro_sql) for macro in manifest.macros.values() if macro.package_name == project))
    seen = {**os.environ, **settings}
    described.append(sorted(
        (name, value) for name, value in seen.items() if name.startswith(("CLOSE_", "DBT_")) and name not in PLACE_SETTINGS
    ))
    described.append(runner)
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()


def _source_relations(manifest) -> dict[str, str]:
    """Each source's unique id and the relation it names (schema.table)."""
    return {source.unique_id: f"{source.schema}.{source.identifier}" for source in manifest.sources.values()}


def _load_time_parts(relation: str) -> list[str]:
    """The relations whose `_loaded_at` say when `relation`'s rows landed: a delivered table's two
    parts apart, as the view joins them against each other (a scan of the whole history)."""
    schema, table = relation.split(".")
    if schema == warehouse.RAW_SCHEMA and table in warehouse.DELIVERED_TABLES:
        return [warehouse.landed_table(table), warehouse.delivered_view(table)]
    return [relation]


def loaded_through(connection: duckdb.DuckDBPyConnection, manifest, since: Mapping[str, str | None] | None = None) -> dict[str, str | None]:
    """Per source, the newest `_loaded_at` of its rows (ISO text; empty without rows), or None for a
    source without that column (or not there yet): such a source counts as changed at every build.
    With `since` (a former result), only rows after it are read, so DuckDB skips the row groups
    loaded before (zone maps)."""
    with_load_time = {
        f"{schema}.{table}" for schema, table in
        connection.execute("select table_schema, table_name from information_schema.columns where column_name = '_loaded_at'").fetchall()
    }
    newest: dict[str, str | None] = {}
    for unique_id, relation in _source_relations(manifest).items():
        parts = _load_time_parts(relation)
        if not all(part in with_load_time for part in parts):
            newest[unique_id] = None
            continue
        before = (since or {}).get(unique_id)
        found = [before] if before else []
        for part in parts:
            condition = "where _loaded_at > cast(? as timestamp)" if before else ""
            [(latest,)] = connection.execute(f"select max(_loaded_at) from {part} {condition}", [before] if before else []).fetchall()
            found += [latest.isoformat()] if latest is not None else []
        newest[unique_id] = max(found, key=datetime.fromisoformat) if found else ""
    return newest


def recorded(warehouse_file: Path, fingerprint: str) -> dict[str, str | None] | None:
    """What the last complete build of this `fingerprint` read, per source; None when there is none
    (another project or settings, a failed build, a run by another runner since)."""
    if not Path(warehouse_file).exists():
        return None
    with duckdb.connect(str(warehouse_file), read_only=True) as connection:
        schema, table = RECORD_TABLE.split(".")
        if not connection.execute(
            "select 1 from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
        ).fetchall():
            return None
        rows = connection.execute(f"select source_id, loaded_through from {RECORD_TABLE} where fingerprint = ?", [fingerprint]).fetchall()
        return {source_id: loaded for source_id, loaded in rows} or None


def changed_sources(warehouse_file: Path, manifest, before: Mapping[str, str | None]) -> tuple[list[str], dict[str, str | None]]:
    """The sources whose rows may differ from what the build recorded in `before` read, and what this
    build will read (nothing before the warehouse's first load)."""
    if not Path(warehouse_file).exists():
        return [], {}
    with duckdb.connect(str(warehouse_file), read_only=True) as connection:
        now = loaded_through(connection, manifest, before)
    changed = [unique_id for unique_id, loaded in now.items() if loaded is None or unique_id not in before or loaded != before[unique_id]]
    return sorted(changed), now


@dataclass(frozen=True)
class Plan:
    """What a complete build runs and, when it succeeds, records: its `fingerprint`, the sources it
    reads up to where (`reading`), and `changed`: the sources to select downstream of, or None
    when every node runs (no window, or no complete build of this fingerprint to narrow from)."""

    fingerprint: str
    reading: dict[str, str | None]
    changed: list[str] | None


def plan(warehouse_file: Path, manifest, settings: Mapping[str, str], windowed: bool, configuration_loaded: bool, runner: str = "") -> Plan:
    """The plan of a complete build of `manifest` with `settings` (ledger.dbt_build, the Dagster models asset)."""
    fingerprint = project_fingerprint(manifest, settings, runner)
    last_complete = recorded(warehouse_file, fingerprint) if configuration_loaded else None
    changed, reading = changed_sources(warehouse_file, manifest, last_complete or {})
    return Plan(fingerprint, reading, changed if windowed and last_complete is not None else None)


def selection(manifest, changed: list[str]) -> list[str]:
    """dbt build arguments for the models downstream of the `changed` sources and the clock, and every
    test that reads one of them (or reads a changed source)."""
    names = {source.unique_id: f"source:{source.source_name}.{source.name}+" for source in manifest.sources.values()}
    return ["--select", *[names[unique_id] for unique_id in changed], f"tag:{CLOCK_TAG}", "--indirect-selection", "eager"]


def selected_nodes(manifest, changed: list[str]) -> set[str]:
    """The unique ids of the models and tests `selection(manifest, changed)` has dbt run: the nodes
    downstream of the `changed` sources, the models that read the clock, and every test that reads
    one of those or a changed source (for a runner that names what to leave out rather than what to
    run: Dagster selects its assets itself)."""
    nodes = [node for node in manifest.nodes.values() if node.resource_type in ("model", "test")]
    reached = set(changed)
    grown = True
    while grown:
        before = len(reached)
        reached |= {node.unique_id for node in nodes if node.resource_type == "model" and reached.intersection(node.depends_on.nodes)}
        grown = len(reached) > before
    reached |= {node.unique_id for node in nodes if node.resource_type == "model" and CLOCK_TAG in node.tags}
    reached |= {node.unique_id for node in nodes if node.resource_type == "test" and reached.intersection(node.depends_on.nodes)}
    return reached - set(changed)


def record(warehouse_file: Path, fingerprint: str, read: Mapping[str, str | None]) -> None:
    """After a successful build: the project it built and, per source, the newest rows it read."""
    with duckdb.connect(str(warehouse_file)) as connection:
        connection.execute(f"create or replace table {RECORD_TABLE} (fingerprint varchar not null, source_id varchar not null, loaded_through varchar)")
        connection.executemany(f"insert into {RECORD_TABLE} values (?, ?, ?)", [[fingerprint, source_id, loaded] for source_id, loaded in sorted(read.items())])
