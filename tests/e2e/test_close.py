"""Whole closes: sandbox Stripe API and bank statements -> DuckDB -> dbt -> exports, as Dagster runs."""

import csv
import dataclasses
import os
import shutil
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ledger.money import parse_major
from sandbox.bank_deposits import plan_deposits
from sandbox.ground_truth import ground_truth
from tests.conftest import API_KEY, close_small_world

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def closed_twice(small_world, closed_small_world, tmp_path_factory):
    """The suite's close of the small world, snapshot, then a second close into (a copy of) the same
    warehouse, with the same bank inbox and a new instance."""
    first = closed_small_world
    workdir = tmp_path_factory.mktemp("close-again")
    shutil.copyfile(first.settings.warehouse, workdir / "warehouse.duckdb")
    settings = dataclasses.replace(first.settings, warehouse=workdir / "warehouse.duckdb", export_dir=workdir / "exports")
    snapshots = [(first.result, ledger_snapshot(settings.warehouse), export_bytes(first.result, first.settings))]
    second = close_small_world(small_world, settings, dg.DagsterInstance.ephemeral()).result
    snapshots.append((second, ledger_snapshot(settings.warehouse), export_bytes(second, settings)))
    return first.settings, settings, snapshots


def export_bytes(result, settings) -> dict[Path, bytes]:
    """Each export file's bytes, by its path under the close's export folder."""
    return {path.relative_to(settings.export_dir): path.read_bytes() for path in result.export_files}


def ledger_snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return {
            table: connection.execute(f"select * from {table} order by all").fetchall()
            for table in ("main.fct_journal_lines", "main.fct_journal_line_sources", "main.rpt_trial_balance")
        } | {
            table: connection.execute(f"select * exclude (_loaded_at) from {table} order by all").fetchall()
            for table in ("raw.stripe_balance_transactions", "raw.stripe_payouts", "raw.stripe_payout_transactions", "raw.stripe_fee_details")
        }


def test_the_ledger_equals_the_ground_truth_to_the_minor_unit(closed_twice, small_world):
    _, _, [(result, _, _), _] = closed_twice
    truth = ground_truth(small_world, plan_deposits(small_world))
    ledger = {(row.currency, row.account_code): row.balance_minor for row in result.trial_balance}
    assert ledger == truth.gl_balances
    assert {currency for currency, _ in ledger} == {"usd", "eur", "jpy"}
    assert result.balance_transactions == small_world.balance_transactions.num_rows
    assert result.failed_checks == ()


def test_payouts_reach_the_bank_on_the_statements_booking_dates(closed_twice, small_world):
    _, settings, [(result, _, _), _] = closed_twice
    last_day = small_world.spec.start + timedelta(days=small_world.spec.days - 1)
    failed = {p["id"] for p in small_world.payouts.to_pylist() if p["failure_balance_transaction"]}
    booked = defaultdict(set)
    for deposit in plan_deposits(small_world):
        if deposit.direction == "credit" and deposit.booking_date <= last_day:
            for payout_id in set(deposit.payout_ids) - failed:
                booked[payout_id].add(deposit.booking_date)
    assert result.payouts_matched == len(booked) > 10
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        ledger_dates = defaultdict(set)
        for payout_id, day in connection.execute(
            "select source_id, accounting_date from main.fct_journal_line_sources "
            "where source_kind = 'payout_arrival' and line_role = 'bank'"
        ).fetchall():
            ledger_dates[payout_id].add(day)
    assert {payout: ledger_dates[payout] for payout in booked} == dict(booked)
    assert result.exceptions.get("payout_in_transit", 0) > 0


def test_stripe_clearing_equals_the_stripe_balance(closed_twice, small_world):
    _, _, [(result, _, _), _] = closed_twice
    truth = ground_truth(small_world, plan_deposits(small_world))
    clearing = {row.currency: row.balance_minor for row in result.trial_balance if row.account_code == "1010"}
    assert clearing == truth.stripe_balance


def test_a_second_close_gives_identical_rows_and_bytes(closed_twice):
    _, _, [(first, first_ledger, first_files), (second, second_ledger, second_files)] = closed_twice
    assert first.run_id != second.run_id
    assert first_ledger == second_ledger
    assert first_files == second_files and first_files


def test_no_duplicates_anywhere(closed_twice):
    _, settings, _ = closed_twice
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        for table, key in [
            ("raw.stripe_balance_transactions", "id"), ("raw.stripe_payouts", "id"),
            ("main.fct_journal_lines", "journal_line_id"),
            ("main.fct_journal_line_sources", "journal_line_id, source_id, line_role"),
        ]:
            total, distinct = connection.execute(f"select count(*), count(distinct ({key})) from {table}").fetchone()
            assert total == distinct, table


def test_every_journal_entry_balances(closed_twice):
    _, settings, _ = closed_twice
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        sums = connection.execute("select journal_entry_id, sum(amount_minor) from main.fct_journal_lines group by all").fetchall()
    assert len(sums) > 30
    assert {total for _, total in sums} == {0}


def test_the_export_totals_equal_the_trial_balance(closed_twice):
    first_settings, settings, [(result, _, _), _] = closed_twice
    [export] = result.export_files
    assert export.parent == first_settings.export_dir / "main" / "2026-10"
    debit, credit = defaultdict(int), defaultdict(int)
    revaluation_debit = 0
    with export.open(newline="") as stream:
        for row in csv.DictReader(stream):
            currency = row["Currency"].lower()
            if "-REVAL-" in row["External ID"]:  # month-end revaluation: functional amounts, not in the trial balance
                revaluation_debit += parse_major(row["Journal Entry -Line: Debit"], currency) if row["Journal Entry -Line: Debit"] else 0
                continue
            if row["Journal Entry -Line: Debit"]:
                debit[currency] += parse_major(row["Journal Entry -Line: Debit"], currency)
            if row["Journal Entry -Line: Credit"]:
                credit[currency] += parse_major(row["Journal Entry -Line: Credit"], currency)
            if currency == "jpy":
                assert "." not in row["Journal Entry -Line: Debit"] + row["Journal Entry -Line: Credit"]
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        trial = connection.execute(
            "select currency, sum(debit_minor)::bigint, sum(credit_minor)::bigint from main.rpt_trial_balance group by currency"
        ).fetchall()
        [(revalued,)] = connection.execute(
            "select sum(greatest(functional_amount_minor, 0))::bigint from main.fct_fx_revaluation_lines where period = '2026-10'"
        ).fetchall()
    assert {c: (debit[c], credit[c]) for c in debit} == {c: (d, cr) for c, d, cr in trial}
    assert revaluation_debit == revalued > 0


def test_the_close_evaluates_every_blocking_check_of_the_code_location(closed_small_world):
    """The GX suites and the configuration check are standalone checks: the ledger run evaluates them
    with the dbt tests, so the exports' guard finds every blocking check proven on this ledger."""
    from orchestration.defs.export.guard import blocking_checks, failing_blocking_checks
    from orchestration.defs.transform.assets import ledger_dbt_models

    closed = closed_small_world
    records = closed.instance.event_log_storage.get_latest_asset_check_execution_by_key(list(blocking_checks()))
    standalone = sorted(f"{key.asset_key.to_user_string()}:{key.name}" for key in records if key not in ledger_dbt_models.check_keys)
    assert standalone == sorted(
        [f"fct_journal_lines:gx_{name}" for name in (
            "automatic_payouts_tie_out", "balance_transactions_booked_once", "journal_entries_balance", "stripe_balance_equals_snapshot",
            "stripe_balance_rolls_forward", "stripe_clearing_equals_stripe_balance", "trial_balance_sums_to_zero")]
        + ["accounting/gl_mapping_rules:accounting_configuration_is_valid"]
    )
    assert {record.run_id for record in records.values()} == {closed.result.run_id}
    assert failing_blocking_checks(closed.instance) == []
    assert closed.result.failed_checks == ()


def test_the_close_leaves_os_environ_as_it_found_it(closed_small_world):
    """run_close sets the close's settings in os.environ for its dbt child: a later test's
    `stripe-close` subprocess must not inherit this close's bank inbox, warehouse or key."""
    settings = closed_small_world.settings
    close_values = {str(settings.warehouse), str(settings.export_dir), settings.bank_inbox, settings.stripe_api_base, API_KEY}
    assert sorted(name for name, value in os.environ.items() if value in close_values) == []
