"""A windowed build (CLOSE_WINDOW_START/_END, incremental journal models) after new data
gives the same journal, drill-down and trial balance as a build of everything."""

import json
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from ledger import dbt_window_selection, period_close, warehouse
from ledger.dbt_build import CloseWindow, LedgerBuildFailed, build_ledger, load_configuration, parse_ledger, target_dir
from ledger.dbt_runner import run_dbt
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


# The settings the small world was built with (tests/dbt/builders.py): a windowed build on the same
# ones runs only the nodes the new rows reach (ledger.dbt_window_selection).
AS_BUILT = {"CLOSE_JOURNAL_GRANULARITY": "daily"}


def windowed_and_full(tmp_path, prepare, new_transactions, window: CloseWindow, environment: dict | None = AS_BUILT):
    """The same warehouse after `prepare` and new data, built once with `window` and once whole."""
    windowed = copy_ledger(small_world_ledger(), tmp_path / "windowed")
    prepare(windowed)
    land_with_snapshot(windowed, new_transactions)
    full = copy_ledger(windowed, tmp_path / "full")
    build_ledger(windowed, environment, window=window)
    build_ledger(full, environment)
    return windowed, full


def rebuilt_days(path) -> list[tuple[str | None, str]]:
    return [(day and day.isoformat(), reason) for day, reason in query(path, "select * from main.int_journal_rebuild_days order by all")]


RECONCILIATION = {
    name: f"select * from main.{name} order by all"
    for name in ("fct_payout_bank_matches", "fct_reconciliation_exceptions", "rpt_stripe_balance_rollforward", "rpt_payout_reconciliation")
}


def nodes_run(path) -> dict[str, str]:
    """The last build's nodes (dbt's names) and how each ended."""
    results = json.loads((target_dir(path) / "run_results.json").read_text())["results"]
    return {result["unique_id"].split(".", 2)[-1]: result["status"] for result in results}


IN_WINDOW = "in the close window"
LANDED_LATE = "a balance transaction landed since the last build"


def test_a_windowed_build_books_new_days_and_late_facts_dated_before_its_window(tmp_path):
    """An hourly run after Stripe showed new days and transactions of earlier days (listed late, or
    backfilled): it books them where a whole build would, without waiting for one. It runs the
    models downstream of the tables that received rows (balance transactions, fee details, the
    balance snapshot) and every proof that reads them, not the staging views and tests of the
    tables that received nothing (disputes, invoices, bank lines); its journal, trial balance,
    reconciliation and proofs are a whole build's."""
    new = [
        transaction("txn_window_usd", "charge", "charge", 50_000, 1_480, created=ts("2026-10-13", 20)),
        transaction("txn_window_jpy", "charge", "charge", 9_000, 324, currency="jpy", created=ts("2026-10-14", 8)),
        transaction("txn_window_refund", "refund", "refund", -2_000, 0, created=ts("2026-10-14", 9)),
        transaction("txn_late_usd", "charge", "charge", 12_345, 388, created=ts("2026-10-05", 9)),
        transaction("txn_late_jpy", "refund", "refund", -2_000, 0, currency="jpy", created=ts("2026-10-09", 23)),
    ]
    windowed, full = windowed_and_full(tmp_path, lambda path: None, new, CloseWindow(date(2026, 10, 13), date(2026, 10, 15)))
    hourly, whole = nodes_run(windowed), nodes_run(full)
    assert journal(windowed) == journal(full)
    assert {name: query(windowed, sql) for name, sql in RECONCILIATION.items()} == {name: query(full, sql) for name, sql in RECONCILIATION.items()}
    # Unchanged tables: their views and tests are as the complete build left them.
    for unchanged in ("stg_stripe__disputes", "stg_stripe__invoices", "stg_bank__statement_lines", "int_sales_policies"):
        assert unchanged in whole and unchanged not in hourly
    assert not any(name.startswith("columns_not_null_stg_stripe__disputes") for name in hourly)
    # What the new rows reach, the proofs of the books and the clock's models run, and pass.
    for reached in ("stg_stripe__balance_transactions", "fct_journal_lines", "rpt_trial_balance", "fct_payout_bank_matches",
                    "booked_once", "journal_balances", "trial_balance_ties", "clearing_equals_stripe_balance",
                    "assert_stripe_balance_rolls_forward", "payouts_equal_their_transactions", "fct_reconciliation_exceptions",
                    "rpt_suspense_postings"):
        assert hourly[reached] in ("success", "pass"), reached
    assert set(hourly.values()) <= {"success", "pass", "warn"}
    assert len(hourly) < len(whole) - 60
    assert rebuilt_days(windowed) == [
        ("2026-10-05", LANDED_LATE), ("2026-10-09", LANDED_LATE),
        ("2026-10-13", f"{LANDED_LATE}; {IN_WINDOW}"), ("2026-10-14", f"{LANDED_LATE}; {IN_WINDOW}"),
    ]
    in_window = query(windowed, "select source_id, line_role, amount_minor from main.fct_journal_line_sources where source_id like 'txn_window_%' order by all")
    assert ("txn_window_jpy", "gross", -9_000) in in_window and ("txn_window_refund", "stripe_clearing", -2_000) in in_window
    booked = query(windowed, "select source_id, accounting_date::varchar, line_role, amount_minor from main.fct_journal_line_sources where source_id like 'txn_late_%' order by all")
    assert booked == [
        ("txn_late_jpy", "2026-10-09", "gross", 2_000), ("txn_late_jpy", "2026-10-09", "stripe_clearing", -2_000),
        ("txn_late_usd", "2026-10-05", "fee:stripe_fee", 388), ("txn_late_usd", "2026-10-05", "gross", -12_345),
        ("txn_late_usd", "2026-10-05", "stripe_clearing", 11_957),
    ]


def test_any_other_dbt_run_makes_the_next_windowed_build_run_every_node(tmp_path):
    """A run by another runner (here the configuration's load, as Dagster's seeds step runs it) may
    leave nodes built otherwise: it voids the record of the last complete build as it starts."""
    path = copy_ledger(small_world_ledger(), tmp_path)
    recorded = "select count(*) from information_schema.tables where table_schema = 'close' and table_name = 'complete_build_sources'"
    assert query(path, recorded) == [(1,)]
    load_configuration(path)
    assert query(path, recorded) == [(0,)]


def test_with_a_locked_period_late_facts_before_the_window_book_as_a_whole_build_books_them(tmp_path):
    """A late fact of the locked month is an adjusting entry in November; one of an open day before
    the window is booked on its own day."""
    def lock_october(path):
        period_close.lock_period(path, "2026-10", actor="controller")
        # A windowed build right after the lock would serve October the old way: it is refused.
        with pytest.raises(LedgerBuildFailed) as raised:
            build_ledger(path, window=CloseWindow(date(2026, 11, 1), date(2026, 11, 2)))
        [failure] = [f for f in raised.value.failures if f.name == "serves_current_locks"]
        assert sorted((row["period"], row["problem"]) for row in failure.culprits) == [
            ("2026-10", "locked, but its frozen lines are not served: build the journal whole"),
            ("2026-10", "locked, but still served from open records: build the journal whole"),
        ]
        build_ledger(path)  # as `stripe-close close` does after locking

    new = [
        transaction("txn_late_october", "charge", "charge", 12_345, 388, created=ts("2026-10-07", 9)),
        transaction("txn_late_november", "charge", "charge", 4_000, 146, created=ts("2026-11-01", 9)),
        transaction("txn_november", "charge", "charge", 7_000, 233, created=ts("2026-11-03", 9)),
    ]
    windowed, full = windowed_and_full(tmp_path, lock_october, new, CloseWindow(date(2026, 11, 3), date(2026, 11, 4)))
    assert journal(windowed) == journal(full)
    # October's day is locked: rewriting it would change nothing, its change is the adjustment.
    assert rebuilt_days(windowed) == [("2026-11-01", LANDED_LATE), ("2026-11-03", f"{LANDED_LATE}; {IN_WINDOW}")]
    adjustments = query(windowed, "select account_code, amount_minor from main.fct_journal_lines where is_adjustment order by account_code")
    assert adjustments == [("1010", 11_957), ("4000", -12_345), ("6000", 388)]
    lines = query(windowed, """
        select accounting_date::varchar, is_adjustment, account_code, amount_minor from main.fct_journal_lines
        where accounting_date >= date '2026-11-01' and account_code in ('1010', '4000', '6000') order by all""")
    assert lines == [
        ("2026-11-01", False, "1010", 3_854), ("2026-11-01", False, "4000", -4_000), ("2026-11-01", False, "6000", 146),
        ("2026-11-01", True, "1010", 11_957), ("2026-11-01", True, "4000", -12_345), ("2026-11-01", True, "6000", 388),
        ("2026-11-03", False, "1010", 6_767), ("2026-11-03", False, "4000", -7_000), ("2026-11-03", False, "6000", 233),
    ]


def test_a_payout_that_arrived_before_the_window_moves_to_the_bank_on_its_day(tmp_path):
    """Stripe reports an in-transit payout paid after its arrival date has left the window: the
    bank move is booked on the arrival date, as a whole build books it."""
    def payout_paid(path):
        with warehouse.connect(path) as connection:
            connection.execute("update raw.stripe_payouts set status = 'paid', _loaded_at = now() where id = 'po_15e6fb04a5775ac231b9549d'")

    windowed, full = windowed_and_full(tmp_path, payout_paid, [], CloseWindow(date(2026, 10, 16), date(2026, 10, 17)))
    assert journal(windowed) == journal(full)
    assert rebuilt_days(windowed) == [("2026-10-14", "a payout bank move changed since the last build"), ("2026-10-16", IN_WINDOW)]
    assert query(windowed, """
        select journal_entry_id, account_code, amount_minor from main.fct_journal_lines
        where accounting_date = date '2026-10-14' and account_code in ('1000', '1030') order by all""") == [
        ("STRIPE-main-20261014-USD", "1000", 389_002), ("STRIPE-main-20261014-USD", "1030", -389_002),
    ]


def test_under_the_payout_granularity_a_windowed_build_books_late_facts_as_a_whole_build(tmp_path):
    """Entries per payout are dated the payout's day: the windowed build computes only the days it
    rewrites, by entry date, and still equals a whole build."""
    payout = {"CLOSE_JOURNAL_GRANULARITY": "payout"}
    new = [
        transaction("txn_late_usd", "charge", "charge", 12_345, 388, created=ts("2026-10-05", 9)),
        transaction("txn_window_usd", "charge", "charge", 50_000, 1_480, created=ts("2026-10-13", 20)),
    ]
    windowed, full = windowed_and_full(
        tmp_path, lambda path: build_ledger(path, payout), new, CloseWindow(date(2026, 10, 13), date(2026, 10, 15)), payout,
    )
    assert journal(windowed) == journal(full)
    assert rebuilt_days(windowed) == [("2026-10-05", LANDED_LATE), ("2026-10-13", f"{LANDED_LATE}; {IN_WINDOW}"), ("2026-10-14", IN_WINDOW)]


def test_a_windowed_build_on_a_new_basis_rebuilds_every_day(tmp_path):
    """Another granularity (or time zone, seed, model) can move any past day: the first windowed
    build on it rewrites the whole journal, as a whole build would."""
    windowed, full = windowed_and_full(
        tmp_path, lambda path: None, [], CloseWindow(date(2026, 10, 13), date(2026, 10, 14)), {"CLOSE_JOURNAL_GRANULARITY": "transaction"},
    )
    assert rebuilt_days(windowed) == [(None, "no earlier build on the same settings, seeds and models")]
    assert journal(windowed) == journal(full)
    assert query(windowed, "select count(distinct journal_entry_id) > 300 from main.fct_journal_lines where journal_entry_id like 'STRIPE-main-txn_%'") == [(True,)]


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
    run, half = tmp_path / "run", tmp_path / "half"
    for target in (run, half):
        target.mkdir()
        shutil.copy(tmp_path / "parsed" / "partial_parse.msgpack", target)
    journal_models = ["--select", "int_journal_rebuild_days", "fct_journal_source_records", "fct_journal_lines"]
    assert dbt(["run", *journal_models], run, CLOSE_WINDOW_START="2026-10-13", CLOSE_WINDOW_END="2026-10-15").returncode == 0
    assert "Partial parsing enabled, no changes found, skipping parsing" in (run / "dbt.log").read_text()
    [compiled] = (run / "compiled").rglob("fct_journal_lines.sql")
    assert "(accounting_date in (date '2026-10-13', date '2026-10-14') or is_adjustment)" in compiled.read_text()

    refused = dbt(["compile", "--select", "fct_journal_lines"], half, CLOSE_WINDOW_START="2026-10-13")
    assert refused.returncode != 0
    assert "CLOSE_WINDOW_END is 'None'; give CLOSE_WINDOW_START and CLOSE_WINDOW_END as YYYY-MM-DD (end exclusive), or neither" in refused.stdout


def test_the_nodes_a_runner_that_names_what_to_leave_out_runs_are_those_dbt_selects_for_a_windowed_build(tmp_path):
    """Dagster selects its assets itself, so its models asset names to dbt what a windowed build
    leaves out (orchestration/defs/transform/narrowing.py): what it runs must be what dbt selects
    for `build_ledger`'s windowed build on the same changed sources, tests included."""
    path = copy_ledger(small_world_ledger(), tmp_path)
    manifest, settings = parse_ledger(path, AS_BUILT)
    changed = sorted(source.unique_id for source in manifest.sources.values()
                     if source.name in ("stripe_balance_transactions", "stripe_payout_transactions", "period_locks"))
    assert len(changed) == 3
    options = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target_dir(path))]
    listed, output = run_dbt(["ls", *options, *dbt_window_selection.selection(manifest, changed), "--resource-type", "model",
                              "--resource-type", "test", "--output", "json", "--output-keys", "unique_id"], settings, DBT_PROJECT_DIR)
    assert listed.success, output
    dbt_selects = {json.loads(line)["unique_id"] for line in listed.result}
    every_node = {node.unique_id for node in manifest.nodes.values() if node.resource_type in ("model", "test")}
    assert dbt_window_selection.selected_nodes(manifest, changed) == dbt_selects
    assert "model.stripe_close.fct_journal_lines" in dbt_selects and "model.stripe_close.stg_stripe__disputes" not in dbt_selects
    assert 60 < len(dbt_selects) < len(every_node) - 60
