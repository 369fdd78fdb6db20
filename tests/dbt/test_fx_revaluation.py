"""Period-end revaluation of foreign-currency balances, by a real dbt build, to the minor unit.

Entity `main` (USD) holds JPY (0 decimals) and KWD (3 decimals) in Stripe clearing. Every amount
is computed by hand below from tests/dbt/fx_world.py's rates (round half away from zero).
"""

import shutil

import pytest

from ledger.period_close import lock_period
from tests.dbt.builders import query
from tests.dbt.fx_world import MAIN_TRANSACTIONS, RATES, fx_project, land_and_build, rebuild

CLEARING, REVENUE, FEES, UNREALIZED = "1010", "4000", "6000", "7010"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fx-revaluation")
    project = fx_project(workdir / "dbt_project")
    warehouse = workdir / "warehouse.duckdb"
    land_and_build(warehouse, project, "main", MAIN_TRANSACTIONS)
    return warehouse, project


def revaluation_lines(warehouse) -> dict[tuple[str, str], tuple[int, str, str]]:
    rows = query(warehouse, """
        select journal_entry_id, account_code, functional_amount_minor, accounting_date::varchar, fx_line_kind
        from main.fct_fx_revaluation_lines""")
    return {(entry, account): (amount, day, kind) for entry, account, amount, day, kind in rows}


def translated(warehouse, period: str) -> list[tuple]:
    return query(warehouse, """
        select * exclude (fx_rate), fx_rate::varchar from main.fct_journal_lines_translated where period = ?
        union all
        select * exclude (fx_rate), fx_rate::varchar from main.fct_fx_revaluation_lines where period = ?
        order by journal_line_id""", [period, period])


def test_translation_is_exact_for_jpy_and_kwd(built):
    warehouse, _ = built
    lines = dict(query(warehouse, """
        select journal_entry_id || ' ' || account_code, functional_amount_minor from main.fct_journal_lines_translated
        where journal_entry_id in ('STRIPE-main-20261005-JPY', 'STRIPE-main-20261005-KWD', 'STRIPE-main-20261103-JPY')"""))
    assert lines == {
        # 123,457 JPY at 0.0067 USD = 827.1619 USD; fee 4,321 -> 28.9507; net 119,136 -> 798.2112.
        f"STRIPE-main-20261005-JPY {REVENUE}": -82_716, f"STRIPE-main-20261005-JPY {FEES}": 2_895,
        f"STRIPE-main-20261005-JPY {CLEARING}": 79_821,
        # 12.345 KWD at 3.2611 = 40.25828 USD; fee 0.458 -> 1.49358; net 11.887 -> 38.76469.
        f"STRIPE-main-20261005-KWD {REVENUE}": -4_026, f"STRIPE-main-20261005-KWD {FEES}": 149,
        f"STRIPE-main-20261005-KWD {CLEARING}": 3_876,
        # Rounding leaves the KWD entry 1 cent off: FX gain/loss takes it.
        "STRIPE-main-20261005-KWD 7000": 1,
        # 10,001 JPY on Nov 3 at Oct 31's 0.00655 = 65.50655 USD.
        f"STRIPE-main-20261103-JPY {REVENUE}": -6_551, f"STRIPE-main-20261103-JPY {CLEARING}": 6_551,
    }


def test_month_end_balances_revalue_to_the_cent_and_reverse_the_next_day(built):
    warehouse, _ = built
    assert revaluation_lines(warehouse) == {
        # Oct 31: 119,136 JPY at 0.00655 = 780.3408 -> 78,034 cents, carried 79,821: -1,787.
        ("STRIPE-main-REVAL-202610-JPY", CLEARING): (-1_787, "2026-10-31", "revaluation"),
        ("STRIPE-main-REVAL-202610-JPY", UNREALIZED): (1_787, "2026-10-31", "revaluation"),
        # 11.887 KWD at 3.25 = 38.63275 -> 3,863 cents, carried 3,876: -13.
        ("STRIPE-main-REVAL-202610-KWD", CLEARING): (-13, "2026-10-31", "revaluation"),
        ("STRIPE-main-REVAL-202610-KWD", UNREALIZED): (13, "2026-10-31", "revaluation"),
        ("STRIPE-main-REVAL-202610-JPY-REVERSAL", CLEARING): (1_787, "2026-11-01", "revaluation_reversal"),
        ("STRIPE-main-REVAL-202610-JPY-REVERSAL", UNREALIZED): (-1_787, "2026-11-01", "revaluation_reversal"),
        ("STRIPE-main-REVAL-202610-KWD-REVERSAL", CLEARING): (13, "2026-11-01", "revaluation_reversal"),
        ("STRIPE-main-REVAL-202610-KWD-REVERSAL", UNREALIZED): (-13, "2026-11-01", "revaluation_reversal"),
        # Nov 30: 129,137 JPY at 0.0069 = 891.0453 -> 89,105, carried 79,821 + 6,551 = 86,372: +2,733.
        ("STRIPE-main-REVAL-202611-JPY", CLEARING): (2_733, "2026-11-30", "revaluation"),
        ("STRIPE-main-REVAL-202611-JPY", UNREALIZED): (-2_733, "2026-11-30", "revaluation"),
        # 11.887 KWD at 3.27 = 38.87049 -> 3,887, carried 3,876: +11.
        ("STRIPE-main-REVAL-202611-KWD", CLEARING): (11, "2026-11-30", "revaluation"),
        ("STRIPE-main-REVAL-202611-KWD", UNREALIZED): (-11, "2026-11-30", "revaluation"),
        ("STRIPE-main-REVAL-202611-JPY-REVERSAL", CLEARING): (-2_733, "2026-12-01", "revaluation_reversal"),
        ("STRIPE-main-REVAL-202611-JPY-REVERSAL", UNREALIZED): (2_733, "2026-12-01", "revaluation_reversal"),
        ("STRIPE-main-REVAL-202611-KWD-REVERSAL", CLEARING): (-11, "2026-12-01", "revaluation_reversal"),
        ("STRIPE-main-REVAL-202611-KWD-REVERSAL", UNREALIZED): (11, "2026-12-01", "revaluation_reversal"),
    }
    # Only balance-sheet accounts are revalued (revenue and fees are income and expense), and the
    # transaction-currency amounts do not move.
    assert query(warehouse, "select distinct amount_minor from main.fct_fx_revaluation_lines") == [(0,)]


def test_translated_entries_and_revaluations_balance_in_functional_currency(built):
    warehouse, _ = built
    unbalanced = query(warehouse, """
        select journal_entry_id, sum(functional_amount_minor) from (
            select journal_entry_id, functional_amount_minor from main.fct_journal_lines_translated
            union all
            select journal_entry_id, functional_amount_minor from main.fct_fx_revaluation_lines
        ) group by 1 having sum(functional_amount_minor) <> 0""")
    assert unbalanced == []
    # Clearing in USD at Nov 30 = the JPY and KWD balances at Nov 30's rates, plus the USD balance.
    [(clearing,)] = query(warehouse, """
        select sum(functional_amount_minor) from (
            select account_code, accounting_date, functional_amount_minor from main.fct_journal_lines_translated
            union all
            select account_code, accounting_date, functional_amount_minor from main.fct_fx_revaluation_lines
        ) where account_code = '1010' and accounting_date <= date '2026-11-30'""")
    assert clearing == 89_105 + 3_887 + 4_825


def test_a_locked_period_is_not_changed_by_a_later_rate(built, tmp_path):
    source_warehouse, source_project = built
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(source_warehouse, warehouse)
    project = tmp_path / "dbt_project"
    shutil.copytree(source_project, project, ignore=shutil.ignore_patterns("target", "logs"))
    lock_period(warehouse, "2026-10")
    rebuild(warehouse, project, "main")
    october = translated(warehouse, "2026-10")
    assert query(warehouse, "select count(*) from close.locked_fx_revaluation_lines where locked_period = '2026-10'") == [(4,)]

    # The accountant corrects October's JPY rates after the lock.
    fx_project(project, RATES.replace("2026-10-01,jpy,usd,0.0067", "2026-10-01,jpy,usd,0.0070").replace("2026-10-31,jpy,usd,0.00655", "2026-10-31,jpy,usd,0.0060"))
    rebuild(warehouse, project, "main")

    assert translated(warehouse, "2026-10") == october
    lines = revaluation_lines(warehouse)
    # The reversal on Nov 1 undoes what October booked, not what the new rates would have booked.
    assert lines[("STRIPE-main-REVAL-202610-JPY-REVERSAL", CLEARING)] == (1_787, "2026-11-01", "revaluation_reversal")
    # November's JPY (10,001 at the corrected 0.0060 = 60.006 USD) and its month end absorb the
    # correction: carried 79,821 (locked) + 6,001 = 85,822 against 89,105.
    [(november_jpy,)] = query(warehouse, "select functional_amount_minor from main.fct_journal_lines_translated where journal_line_id = 'STRIPE-main-20261103-JPY-1010'")
    assert november_jpy == 6_001
    assert lines[("STRIPE-main-REVAL-202611-JPY", CLEARING)] == (3_283, "2026-11-30", "revaluation")
