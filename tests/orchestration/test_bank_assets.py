"""The bank inbox as Dagster sees it: the load asset (real materializations) and the sensor."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.defs.bank.assets import bank_inbox_sensor, bank_statement_load
from orchestration.defs.bank.resources import BankInboxResource
from orchestration.defs.resources import WarehouseResource
from sandbox.outputs import write_sandbox_files

TRUNCATED = "01,121000248,ACME,261007,0600,1,,,2/\n02,ACME,121000248,1,261005,,,2/\n"


def inbox_with_sandbox_files(small_world, tmp_path: Path) -> Path:
    files = write_sandbox_files(small_world, tmp_path / "sandbox")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "statement.bai2").write_bytes(files.bai2.read_bytes())
    (inbox / "statement.camt053.xml").write_bytes(files.camt053.read_bytes())
    (inbox / "broken.bai2").write_text(TRUNCATED)
    return inbox


def materialize(inbox: Path, warehouse: Path, names: list[str] | None = None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [bank_statement_load],
        resources={"bank_inbox": BankInboxResource(location=str(inbox)), "warehouse": WarehouseResource(path=str(warehouse))},
        run_config={"ops": {"bank_statement_load": {"config": {"names": names or []}}}},
        instance=dg.DagsterInstance.ephemeral(),
    )


def test_the_load_asset_lands_good_files_and_warns_about_the_quarantined_one(small_world, tmp_path: Path) -> None:
    inbox = inbox_with_sandbox_files(small_world, tmp_path)
    warehouse = tmp_path / "warehouse.duckdb"

    first = materialize(inbox, warehouse)
    second = materialize(inbox, warehouse)

    metadata = first.asset_materializations_for_node("bank_statement_load")[0].metadata
    assert (metadata["files_loaded"].value, metadata["files_quarantined"].value) == (2, 1)
    lines_per_file = metadata["lines_added"].value // 2
    assert lines_per_file == 25  # the same statement in BAI2 and camt.053: staging keeps each entry once
    [check] = first.get_asset_check_evaluations()
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert "broken.bai2, line 2" in check.metadata["quarantined"].value
    again = second.asset_materializations_for_node("bank_statement_load")[0].metadata
    assert (again["lines_added"].value, again["files_already_loaded"].value) == (0, 2)
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        assert connection.execute("select count(*) from raw.bank_statement_lines").fetchone() == (50,)


def test_without_an_inbox_the_asset_only_prepares_the_tables(tmp_path: Path) -> None:
    result = dg.materialize(
        [bank_statement_load],
        resources={"bank_inbox": BankInboxResource(location=""), "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb"))},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    assert result.get_asset_check_evaluations()[0].passed


def test_the_sensor_requests_a_run_for_new_and_changed_files_only(small_world, tmp_path: Path) -> None:
    inbox = inbox_with_sandbox_files(small_world, tmp_path)
    resources = {"bank_inbox": BankInboxResource(location=str(inbox))}

    with dg.build_sensor_context(resources=resources) as context:
        first = bank_inbox_sensor(context)
    [request] = first.run_requests
    assert request.run_config["ops"]["bank_statement_load"]["config"]["names"] == [
        "broken.bai2", "statement.bai2", "statement.camt053.xml",
    ]
    with dg.build_sensor_context(resources=resources, cursor=first.cursor) as context:
        assert isinstance(bank_inbox_sensor(context), dg.SkipReason)

    (inbox / "broken.bai2").write_text(TRUNCATED + "99,0,1,3/\n")
    os.utime(inbox / "broken.bai2", ns=(1, 1))
    with dg.build_sensor_context(resources=resources, cursor=first.cursor) as context:
        changed = bank_inbox_sensor(context)
    [request] = changed.run_requests
    assert request.run_config["ops"]["bank_statement_load"]["config"]["names"] == ["broken.bai2"]
    assert json.loads(changed.cursor).keys() == {"broken.bai2", "statement.bai2", "statement.camt053.xml"}


def test_the_sensor_skips_without_an_inbox() -> None:
    with dg.build_sensor_context(resources={"bank_inbox": BankInboxResource(location="")}) as context:
        assert isinstance(bank_inbox_sensor(context), dg.SkipReason)
