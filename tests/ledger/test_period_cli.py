"""`stripe-close close` and `reopen` from the command line, on a copy of a built warehouse."""

import pytest

from ledger import period_close
from orchestration.cli import main
from tests.dbt.builders import copy_ledger, query, small_world_ledger


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
