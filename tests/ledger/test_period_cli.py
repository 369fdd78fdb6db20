"""`stripe-close close` and `reopen` from the command line, on a copy of a built warehouse."""

import pytest

from exporters.close_package.frozen_data import decode
from ledger import period_close
from ledger.checks.suites import SUITES
from orchestration.cli import main
from tests.dbt.builders import copy_ledger, land, query, small_world_ledger, transaction, ts

ESC = "\x1b"
KEY = "sk_test_never_in_a_log_4242"


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    path = copy_ledger(small_world_ledger(), tmp_path)
    monkeypatch.setenv("CLOSE_WAREHOUSE", str(path))
    return path


def test_close_proves_locks_and_serves_the_frozen_period_showing_dbt_and_the_proofs_as_lines(warehouse, monkeypatch, capsys):
    """One close checked twice over: what it did to the warehouse (stdout), and how it showed its
    progress (stderr, one line per step; dbt's log in a file, without the API key)."""
    monkeypatch.setenv("STRIPE_API_KEY", KEY)
    assert main(["close", "--period", "2026-10", "--actor", "controller"]) == 0
    out, err = capsys.readouterr()
    lines = query(warehouse, "select count(*) from main.fct_journal_lines where period = '2026-10'")[0][0]
    assert f"Locked 2026-10" in out and f"by controller: {lines:,} journal lines" in out
    assert period_close.locked_periods(warehouse) == ["2026-10"]
    # The rebuilt ledger serves October from its frozen copy.
    assert query(warehouse, "select bool_and(is_locked) from main.fct_journal_line_sources where period = '2026-10'") == [(True,)]

    assert ESC not in err
    err_lines = err.splitlines()
    # Built twice (to prove, then to serve the frozen month), each counted n/N as dbt finishes its nodes.
    built = [line for line in err_lines if line.startswith("dbt build: ") and line.endswith(" done")]
    assert len(built) == 2
    for line in built:
        done, total = line.removeprefix("dbt build: ").split(" ")[0].split("/")
        assert done == total and int(total.replace(",", "")) > 100
    assert f"Great Expectations proofs: {len(SUITES)}/{len(SUITES)} proofs done" in err_lines, err
    assert not any("Concurrency:" in line or "OK created" in line for line in err_lines), "dbt's log is not on the terminal"
    [log] = (warehouse.parent / "logs").glob("close-*.log")
    text = log.read_text()
    assert "Concurrency: 3 threads" in text and "OK created sql table model main.fct_journal_lines" in text
    assert KEY not in text and "4242" not in text

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
    assert f'Warning: snapshot_covers_ledger: warn: Got 1 result, configured to warn if != 0' in out
    assert f'"problem": "{not_evaluated}"' in out
    assert '"balance_transaction_id": "txn_nov_adjustment"' in out and '"suspense_amount_minor": 700' in out
    assert "FAIL" not in out and "passed" not in out.split("Warning: stripe_clearing_equals_stripe_balance")[1].splitlines()[0]
    # The package frozen with the lock shows the proofs this close ran, with their warnings, at the lock's time.
    [(frozen,)] = query(path, "select close_data from close.locked_close_packages where locked_period = '2026-11'")
    [lock] = period_close.lock_states(path)
    proofs = {result.name.split(":")[1]: result for result in decode(frozen).proofs.results}
    assert proofs["snapshot_covers_ledger"].detail == "Got 1 result, configured to warn if != 0"
    assert proofs["gx_stripe_clearing_equals_stripe_balance"].detail.startswith(f"stripe_clearing_equals_stripe_balance: not evaluated for main usd: {not_evaluated}")
    warned = {"snapshot_covers_ledger", "gx_stripe_clearing_equals_stripe_balance", "gx_stripe_balance_equals_snapshot"}
    assert {name: result.status for name, result in proofs.items()} == {name: "warning" if name in warned else "passed" for name in proofs}
    assert {result.evaluated_at for result in proofs.values()} == {lock.locked_at.replace(microsecond=0)}


def test_an_empty_period_is_locked_only_with_allow_empty(warehouse, capsys):
    assert main(["close", "--period", "2026-09"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    [log] = (warehouse.parent / "logs").glob("close-*.log")
    # The ledger was built first (its progress above), then the refusal, then where dbt's account of the build is.
    assert captured.err.splitlines()[-2:] == [
        "2026-09 was NOT locked: period 2026-09 has no journal lines: nothing was locked; "
        "if it is meant to stay empty, lock it with --allow-empty (Dagster: allow_empty: true)",
        f"stripe-close close: the log is {log}",
    ]
    assert period_close.locked_periods(warehouse) == []

    assert main(["close", "--period", "2026-09", "--allow-empty", "--actor", "controller"]) == 0
    assert "Locked 2026-09" in capsys.readouterr().out
    assert period_close.locked_periods(warehouse) == ["2026-09"]


def test_verbose_puts_dbt_logs_on_stderr_and_writes_no_log_file(warehouse, capsys):
    assert main(["--verbose", "reopen", "--period", "2026-10", "--reason", "x"]) == 1
    assert main(["close", "--period", "2026-10", "--verbose"]) == 0
    err = capsys.readouterr().err
    assert "Concurrency: 3 threads" in err and "OK created sql table model main.fct_journal_lines" in err
    assert not (warehouse.parent / "logs").exists()
