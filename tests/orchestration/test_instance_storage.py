"""The embedded instance's storage (dagster.yaml, orchestration/instance_storage.py): the event log
opens each SQLite database's engine once, not once per event, and an instance that Dagster's own
`storage: sqlite:` made keeps its runs, partitions and checks."""

import shutil
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool

from orchestration.instance import INSTANCE_CONFIG

DAYS = dg.DailyPartitionsDefinition(start_date="2026-10-01")
DAGSTER_OWN_STORAGE = "storage:\n  sqlite:\n    base_dir:\n      env: DAGSTER_HOME\n"


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run(), check_specs=[dg.AssetCheckSpec("has_rows", asset="daily_rows")])
def daily_rows(context: dg.AssetExecutionContext):
    yield dg.MaterializeResult(metadata={"days": len(context.partition_keys)})
    yield dg.AssetCheckResult(check_name="has_rows", passed=True)


def materialize_days(instance: dg.DagsterInstance, first: str, last: str) -> dg.ExecuteInProcessResult:
    """One run over a range of days, as `stripe-close run` materializes the ledger."""
    tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    result = dg.materialize([daily_rows], instance=instance, tags=tags)
    assert result.success
    return result


def instance_at(home: Path, config: str, monkeypatch: pytest.MonkeyPatch) -> dg.DagsterInstance:
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text(config)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return dg.DagsterInstance.from_config(str(home))


def test_a_run_of_many_events_opens_each_database_once(tmp_path, monkeypatch):
    """Ten days of one asset and its check: over 30 events, on the run's database, the index and the
runs' table, each connected to for the first time once (one engine each)."""
    opened: list[str] = []
    listener = lambda dbapi_connection, record: opened.append(dbapi_connection.execute("pragma database_list").fetchone()[2])  # noqa: E731
    with instance_at(tmp_path / "home", INSTANCE_CONFIG.read_text(), monkeypatch) as instance:
        materialize_days(instance, "2026-10-01", "2026-10-02")  # the index and a first run: made once
        event.listen(Pool, "first_connect", listener)
        try:
            result = materialize_days(instance, "2026-10-01", "2026-10-10")
        finally:
            event.remove(Pool, "first_connect", listener)
        stored = instance.get_records_for_run(result.run_id).records
    assert len(stored) > 30
    databases = Counter(Path(path).name for path in opened)
    assert databases[f"{result.run_id}.db"] == 1 and set(databases.values()) == {1}, databases


def test_an_instance_made_by_dagsters_own_storage_keeps_its_runs_partitions_and_checks(tmp_path, monkeypatch):
    home = tmp_path / "home"
    with instance_at(home, DAGSTER_OWN_STORAGE, monkeypatch) as before:
        first = materialize_days(before, "2026-10-01", "2026-10-03").run_id
    shutil.copyfile(INSTANCE_CONFIG, home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as after:
        second = materialize_days(after, "2026-10-04", "2026-10-05").run_id
        assert [run.run_id for run in after.get_runs()] == [second, first]
        assert after.get_materialized_partitions(daily_rows.key) == {f"2026-10-0{day}" for day in range(1, 6)}
        check = dg.AssetCheckKey(daily_rows.key, "has_rows")
        latest = after.event_log_storage.get_latest_asset_check_execution_by_key([check])[check]
        assert (latest.run_id, latest.status.value) == (second, "SUCCEEDED")
        assert sorted(Path(path).name for path in (home / "history" / "runs").glob("*.db")) == sorted([f"{first}.db", f"{second}.db", "index.db"])
