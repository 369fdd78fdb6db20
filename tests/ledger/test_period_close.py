"""Locking, adjusting entries and reopening, on a real warehouse rebuilt by real dbt runs."""

import duckdb
import pytest

from ledger import period_close
from ledger.period_close import PeriodCloseError
from tests.dbt.builders import build, copy_ledger, land, query, small_world_ledger, transaction, ts

LATE = transaction("txn_late_october", "charge", "charge", 12_345, 388, created=ts("2026-10-07", 9))
FROZEN_COLUMNS = "journal_line_id, journal_entry_id, account_code, account_name, currency, period, memo, amount_minor, accounting_date"


def october(path):
    return query(path, f"select {FROZEN_COLUMNS} from main.fct_journal_lines where period = '2026-10' order by journal_line_id")


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    """Lock October, then a transaction of October arrives late and the ledger is built again."""
    path = copy_ledger(small_world_ledger(), tmp_path_factory.mktemp("period"))
    before = october(path)
    lock = period_close.lock_period(path, "2026-10", actor="controller")
    snapshot_balance = query(path, "select currency, balance_minor from main.stg_stripe__balance_snapshots")
    land(path, [LATE], balance={
        "available": [{"currency": c, "amount": b + (LATE["net"] if c == "usd" else 0)} for c, b in snapshot_balance],
        "pending": [],
    }, as_of=query(path, "select max(as_of_at) from main.stg_stripe__balance_snapshots")[0][0])
    build(path)
    return path, before, lock


def test_locking_freezes_the_period_as_built(closed):
    path, before, lock = closed
    assert (lock.period, lock.locked_by, lock.journal_lines) == ("2026-10", "controller", len(before))
    assert period_close.locked_periods(path) == ["2026-10"]
    assert october(path) == before


def test_a_late_fact_posts_to_the_first_open_period_citing_its_date(closed):
    path, _, _ = closed
    original = "STRIPE-main-20261007-USD"
    adjustments = query(path, """
        select journal_entry_id, accounting_date::varchar, period, original_journal_entry_id, original_accounting_date::varchar,
               account_code, amount_minor, memo
        from main.fct_journal_lines where is_adjustment order by account_code""")
    entry = f"ADJ-{original}-202611"
    assert [(a[0], a[1], a[2], a[3], a[4]) for a in adjustments] == [(entry, "2026-11-01", "2026-11", original, "2026-10-07")] * 3
    assert {a[5]: a[6] for a in adjustments} == {"1010": 11_957, "4000": -12_345, "6000": 388}
    assert adjustments[0][7] == f"Adjustment to {original} of 2026-10-07 (period 2026-10 locked)"
    sources = query(path, "select distinct source_id from main.fct_journal_line_sources where journal_entry_id = ?", [entry])
    assert sources == [("txn_late_october",)]


def test_a_locked_period_refuses_a_second_lock_and_a_stale_build(closed, tmp_path):
    path, _, _ = closed
    with pytest.raises(PeriodCloseError, match="already locked"):
        period_close.lock_period(path, "2026-10")
    stale = copy_ledger(path, tmp_path)
    period_close.reopen_period(stale, "2026-10", "test the stale-build guard")
    with pytest.raises(PeriodCloseError, match="built before the last lock or reopen"):
        period_close.lock_period(stale, "2026-10")


def test_reopening_needs_a_reason_and_respects_later_locks(closed, tmp_path):
    path = copy_ledger(closed[0], tmp_path)
    period_close.lock_period(path, "2026-11", actor="controller")
    with pytest.raises(PeriodCloseError, match="needs a reason"):
        period_close.reopen_period(path, "2026-10", "  ")
    with pytest.raises(PeriodCloseError, match="reopen 2026-11 first"):
        period_close.reopen_period(path, "2026-10", "late charge")
    with pytest.raises(PeriodCloseError, match="not a month"):
        period_close.lock_period(path, "2026-13")


def test_reopening_is_recorded_and_the_period_is_recomputed(closed, tmp_path):
    path = copy_ledger(closed[0], tmp_path)
    event = period_close.reopen_period(path, "2026-10", "late charge txn_late_october", actor="cfo")
    build(path)
    assert period_close.locked_periods(path) == []
    history = [(e.period, e.action, e.reason, e.actor) for e in period_close.period_events(path)]
    assert history == [("2026-10", "lock", None, "controller"), ("2026-10", "reopen", "late charge txn_late_october", "cfo")]
    assert event.reason == "late charge txn_late_october"
    assert query(path, "select count(*) from main.fct_journal_lines where is_adjustment") == [(0,)]
    revenue = query(path, "select amount_minor from main.fct_journal_line_sources where source_id = 'txn_late_october' and line_role = 'gross'")
    assert revenue == [(-12_345,)]
    with duckdb.connect(str(path), read_only=True) as connection:
        assert connection.execute("select count(*) from close.locked_journal_lines").fetchone() == (0,)


def test_an_empty_period_is_refused_unless_asked_and_then_locked(tmp_path):
    path = copy_ledger(small_world_ledger(), tmp_path)
    assert query(path, "select count(*) from main.fct_journal_lines where period = '2026-09'") == [(0,)]
    with pytest.raises(PeriodCloseError) as refused:
        period_close.lock_period(path, "2026-09", actor="controller")
    assert str(refused.value) == (
        "period 2026-09 has no journal lines: nothing was locked; "
        "if it is meant to stay empty, lock it with --allow-empty (Dagster: allow_empty: true)"
    )
    assert period_close.locked_periods(path) == [] and period_close.period_events(path) == []

    lock = period_close.lock_period(path, "2026-09", actor="controller", allow_empty=True)
    assert (lock.period, lock.journal_lines, lock.source_rows) == ("2026-09", 0, 0)
    assert period_close.locked_periods(path) == ["2026-09"]
