"""`stripe-close close` and `reopen` from the command line, on a copy of a built warehouse."""

import pytest

from ledger import period_close
from orchestration.cli import main
from tests.dbt.builders import copy_ledger, land, query, small_world_ledger, transaction, ts


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    path = copy_ledger(small_world_ledger(), tmp_path)
    monkeypatch.setenv("CLOSE_WAREHOUSE", str(path))
    return path


def test_close_proves_locks_and_serves_the_frozen_period(warehouse, capsys):
    assert main(["close", "--period", "2026-10", "--actor", "controller"]) == 0
    out = capsys.readouterr().out
    lines = query(warehouse, "select count(*) from main.fct_journal_lines where period = '2026-10'")[0][0]
    assert f"Locked 2026-10" in out and f"by controller: {lines} journal lines" in out
    assert period_close.locked_periods(warehouse) == ["2026-10"]
    # The rebuilt ledger serves October from its frozen copy.
    assert query(warehouse, "select bool_and(is_locked) from main.fct_journal_line_sources where period = '2026-10'") == [(True,)]

    assert main(["close", "--period", "2026-10"]) == 1
    assert "2026-10 was NOT locked: period 2026-10 is already locked" in capsys.readouterr().err


def test_bad_requests_change_nothing(warehouse, capsys):
    # A malformed period is argparse's refusal, exit 2, before the warehouse is opened.
    with pytest.raises(SystemExit) as refused:
        main(["close", "--period", "October"])
    assert refused.value.code == 2
    assert "'October' is not a month in the form YYYY-MM" in capsys.readouterr().err
    assert main(["reopen", "--period", "2026-10", "--reason", "typo"]) == 1
    assert "period 2026-10 is not locked" in capsys.readouterr().err
    assert period_close.period_events(warehouse) == []


def test_close_of_a_backfill_without_a_snapshot_locks_and_says_what_is_not_evaluated(tmp_path, monkeypatch, capsys):
    """A backfilled month that no Stripe balance snapshot covers, with a rule's suspense posting:
    the close locks it, and says which proof was not evaluated and what waits in suspense."""
    path = tmp_path / "warehouse.duckdb"
    land(path, transactions=[
        transaction("txn_nov", "charge", "charge", 10_000, fee=320, created=ts("2026-11-02")),
        transaction("txn_nov_adjustment", "adjustment", "other_adjustment", -700, created=ts("2026-11-04")),
    ])
    monkeypatch.setenv("CLOSE_WAREHOUSE", str(path))
    assert main(["close", "--period", "2026-11"]) == 0
    out = capsys.readouterr().out
    assert "Locked 2026-11" in out
    not_evaluated = "not evaluated: no Stripe balance snapshot covers 2026-11-04; run up to now or use the roll-forward"
    assert f"Warning: stripe_clearing_equals_stripe_balance: not evaluated for main usd: {not_evaluated}" in out
    assert f'Warning: assert_stripe_balance_snapshot_covers_ledger: warn: Got 1 result, configured to warn if != 0' in out
    assert f'"problem": "{not_evaluated}"' in out
    assert '"balance_transaction_id": "txn_nov_adjustment"' in out and '"suspense_amount_minor": 700' in out
    assert "FAIL" not in out and "passed" not in out.split("Warning: stripe_clearing_equals_stripe_balance")[1].splitlines()[0]


def test_an_empty_period_is_locked_only_with_allow_empty(warehouse, capsys):
    assert main(["close", "--period", "2026-09"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "2026-09 was NOT locked: period 2026-09 has no journal lines: nothing was locked; "
        "if it is meant to stay empty, lock it with --allow-empty (Dagster: allow_empty: true)\n"
    )
    assert period_close.locked_periods(warehouse) == []

    assert main(["close", "--period", "2026-09", "--allow-empty", "--actor", "controller"]) == 0
    assert "Locked 2026-09" in capsys.readouterr().out
    assert period_close.locked_periods(warehouse) == ["2026-09"]
