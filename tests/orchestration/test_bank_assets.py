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
    checks = {check.check_name: check for check in first.get_asset_check_evaluations()}
    check = checks["no_quarantined_files"]
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert (checks["no_file_warnings"].passed, checks["no_file_warnings"].metadata["warnings"].value) == (True, 0)
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
    assert {check.check_name: check.passed for check in result.get_asset_check_evaluations()} == {
        "no_quarantined_files": True,
        "no_file_warnings": True,
    }


# MT940 with '.' decimals (two amounts) and a DOS SUB after the last line: read, with two warnings.
ODD_MT940 = (
    ":20:STMT1\n:25:DE89370400440532013000\n:60F:C240102EUR100,00\n"
    ":61:2401020102C83.25NTRFpo_1//BANKREF1\n:86:STRIPE PAYOUT\n:62F:C240102EUR183.25\n-\n\x1a"
)


def test_file_warnings_are_a_warning_check_naming_file_and_line(small_world, tmp_path: Path) -> None:
    inbox = inbox_with_sandbox_files(small_world, tmp_path)
    (inbox / "odd.sta").write_text(ODD_MT940, encoding="utf-8")

    result = materialize(inbox, tmp_path / "warehouse.duckdb", ["odd.sta", "statement.bai2"])

    assert result.success  # a warning never stops the run
    check = {c.check_name: c for c in result.get_asset_check_evaluations()}["no_file_warnings"]
    assert (check.passed, check.severity, check.metadata["warnings"].value) == (False, dg.AssetCheckSeverity.WARN, 2)
    assert check.metadata["files"].value == (
        "- odd.sta: line 4: amounts with '.' as the decimal separator (SWIFT writes ','): read as decimals"
        " (2 lines in all, the last line 6)\n"
        "- odd.sta: line 8: control bytes 0x1A at the end of the file are not part of any record: ignored"
    )


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
