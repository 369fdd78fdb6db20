"""A windowed build (CLOSE_WINDOW_START/_END, incremental journal models) after new data
gives the same journal, drill-down and trial balance as a build of everything."""

import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from ledger import period_close
from ledger.dbt_build import CloseWindow, LedgerBuildFailed, build_ledger
from ledger.dbt_project import DBT_PROJECT_DIR, dbt_executable
from tests.dbt.builders import copy_ledger, land, query, small_world_ledger, transaction, ts

JOURNAL = {
    "fct_journal_lines": "select * exclude (is_locked) from main.fct_journal_lines order by journal_line_id",
    "fct_journal_line_sources": """
        select journal_line_id, source_kind, source_id, line_role, amount_minor, accounting_date, original_accounting_date, is_adjustment
        from main.fct_journal_line_sources order by all""",
    "rpt_trial_balance": "select * from main.rpt_trial_balance order by all",
}


def journal(path) -> dict[str, list[tuple]]:
    return {name: query(path, sql) for name, sql in JOURNAL.items()}


def land_with_snapshot(path, transactions):
    """New transactions, and Stripe's balance snapshot moved by those created before it."""
    [(as_of,)] = query(path, "select max(as_of_at) from main.stg_stripe__balance_snapshots")
    balances = query(path, "select currency, balance_minor from main.stg_stripe__balance_snapshots")
    before = [t for t in transactions if t["created"] <= as_of.timestamp()]
    land(path, transactions, balance={"available": [
        {"currency": currency, "amount": balance + sum(t["net"] for t in before if t["currency"] == currency)}
        for currency, balance in balances
    ], "pending": []}, as_of=as_of)


def windowed_and_full(tmp_path, prepare, new_transactions, window: CloseWindow):
    """The same warehouse after `prepare` and new data, built once with `window` and once whole."""
    windowed = copy_ledger(small_world_ledger(), tmp_path / "windowed")
    prepare(windowed)
    land_with_snapshot(windowed, new_transactions)
    full = copy_ledger(windowed, tmp_path / "full")
    build_ledger(windowed, window=window)
    build_ledger(full)
    return windowed, full


def test_a_windowed_build_after_new_days_equals_a_full_build(tmp_path):
    new = [
        transaction("txn_window_usd", "charge", "charge", 50_000, 1_480, created=ts("2026-10-13", 20)),
        transaction("txn_window_jpy", "charge", "charge", 9_000, 324, currency="jpy", created=ts("2026-10-14", 8)),
        transaction("txn_window_refund", "refund", "refund", -2_000, 0, created=ts("2026-10-14", 9)),
    ]
    windowed, full = windowed_and_full(tmp_path, lambda path: None, new, CloseWindow(date(2026, 10, 13), date(2026, 10, 15)))
    assert journal(windowed) == journal(full)
    booked = query(windowed, "select source_id, line_role, amount_minor from main.fct_journal_line_sources where source_id like 'txn_window_%' order by all")
    assert ("txn_window_jpy", "gross", -9_000) in booked and ("txn_window_refund", "stripe_clearing", -2_000) in booked


def test_after_a_lock_a_windowed_build_books_a_late_fact_as_an_adjustment(tmp_path):
    def lock_october(path):
        period_close.lock_period(path, "2026-10", actor="controller")
        # A windowed build right after the lock would serve October the old way: it is refused.
        with pytest.raises(LedgerBuildFailed) as raised:
            build_ledger(path, window=CloseWindow(date(2026, 11, 1), date(2026, 11, 2)))
        [failure] = [f for f in raised.value.failures if f.name == "assert_journal_serves_current_locks"]
        assert sorted((row["period"], row["problem"]) for row in failure.culprits) == [
            ("2026-10", "locked, but its frozen lines are not served: build the journal whole"),
            ("2026-10", "locked, but still served from open records: build the journal whole"),
        ]
        build_ledger(path)  # as `stripe-close close` does after locking

    new = [
        transaction("txn_late_october", "charge", "charge", 12_345, 388, created=ts("2026-10-07", 9)),
        transaction("txn_november", "charge", "charge", 7_000, 233, created=ts("2026-11-02", 9)),
    ]
    windowed, full = windowed_and_full(tmp_path, lock_october, new, CloseWindow(date(2026, 11, 2), date(2026, 11, 3)))
    assert journal(windowed) == journal(full)
    adjustments = query(windowed, "select account_code, amount_minor from main.fct_journal_lines where is_adjustment order by account_code")
    assert adjustments == [("1010", 11_957), ("4000", -12_345), ("6000", 388)]


def test_a_close_window_must_end_after_it_starts():
    with pytest.raises(ValueError, match="not after its start"):
        CloseWindow(date(2026, 11, 2), date(2026, 11, 2))


def test_a_window_left_in_the_environment_does_not_narrow_a_whole_build(tmp_path, monkeypatch):
    """A whole build recreates the journal: narrowed to a window, it would keep only those days."""
    path = copy_ledger(small_world_ledger(), tmp_path)
    monkeypatch.setenv("CLOSE_WINDOW_START", "2026-10-13")
    monkeypatch.setenv("CLOSE_WINDOW_END", "2026-10-14")
    build_ledger(path)
    assert journal(path) == journal(small_world_ledger())


def test_a_new_window_keeps_dbts_partial_parse_and_a_half_window_is_refused(tmp_path):
    """As Dagster runs dbt: a fresh process per run, given the parse of the project before it."""
    environment = {**os.environ, "CLOSE_WAREHOUSE": str(copy_ledger(small_world_ledger(), tmp_path / "ledger"))}

    def dbt(command: list[str], target: Path, **window: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [dbt_executable(), *command, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
             "--target-path", str(target), "--log-path", str(target)],
            env={**environment, "CLOSE_WINDOW_START": "", "CLOSE_WINDOW_END": "", **window}, capture_output=True, text=True, check=False)

    assert dbt(["parse"], tmp_path / "parsed").returncode == 0
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(tmp_path / "parsed" / "partial_parse.msgpack", run)
    assert dbt(["compile", "--select", "fct_journal_lines"], run, CLOSE_WINDOW_START="2026-10-13", CLOSE_WINDOW_END="2026-10-15").returncode == 0
    assert "Partial parsing enabled, no changes found, skipping parsing" in (run / "dbt.log").read_text()
    [compiled] = (run / "compiled").rglob("fct_journal_lines.sql")
    assert "accounting_date >= date '2026-10-13' and accounting_date < date '2026-10-15'" in compiled.read_text()

    refused = dbt(["compile", "--select", "fct_journal_lines"], tmp_path / "half", CLOSE_WINDOW_START="2026-10-13")
    assert refused.returncode != 0
    assert "CLOSE_WINDOW_END is 'None'; give CLOSE_WINDOW_START and CLOSE_WINDOW_END as YYYY-MM-DD (end exclusive), or neither" in refused.stdout
