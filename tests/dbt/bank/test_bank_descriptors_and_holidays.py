"""Two focused cases on generated payouts: another Stripe account's credit beside a payout whose
trace Stripe has not reported (descriptors), and business days that skip bank holidays."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pytest

from ledger.dbt_project import DBT_PROJECT_DIR
from orchestration.bench_match import dbt_build_bank_models, land_bulk_world
from sandbox.bank_bulk import generate

FOREIGN_TEXT = "STRIPE TRANSFER ST-ZFOREIGN0001 INITECH LLC"


@dataclass(frozen=True)
class Picked:
    payout_id: str
    amount_minor: int
    line_id: str


@dataclass(frozen=True)
class DecoyWorld:
    path: Path
    lost: Picked  # trace pending, its own deposit removed, a foreign credit of its amount on its day
    kept: Picked  # trace pending, its own deposit kept, the same kind of foreign credit beside it
    decoy_ids: tuple[str, str]  # the foreign credits beside `lost` and `kept`

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.path), read_only=True) as connection:
            return connection.execute(sql).fetchall()


def add_foreign_credit(connection: duckdb.DuckDBPyConnection, beside_line_id: str, new_id: str) -> None:
    """Another Stripe account's payout of the same amount, day and currency as `beside_line_id`."""
    connection.execute(
        "insert into raw.bank_statement_lines "
        "select * replace (? as bank_statement_line_id, 'BR' || ? as bank_reference, "
        "'ST-ZFOREIGN0001' as customer_reference, ? as text, file_position + 1000000 as file_position) "
        "from raw.bank_statement_lines where bank_statement_line_id = ?",
        [new_id, new_id, FOREIGN_TEXT, beside_line_id],
    )


@pytest.fixture(scope="module")
def decoy_world(tmp_path_factory: pytest.TempPathFactory) -> DecoyWorld:
    workdir = tmp_path_factory.mktemp("bank-descriptors")
    warehouse_file = workdir / "warehouse.duckdb"
    land_bulk_world(generate(300, seed=5), warehouse_file)
    with duckdb.connect(str(warehouse_file)) as connection:
        # Paid USD payouts with a trace, in one deposit of their amount that no other line shares.
        rows = connection.execute(
            """
            select payouts.id, payouts.amount, truth.bank_statement_line_id
            from raw.stripe_payouts as payouts
            inner join bench.match_truth as truth on payouts.id = truth.payout_id
            inner join raw.bank_statement_lines as lines using (bank_statement_line_id)
            where payouts.status = 'paid' and payouts.currency = 'usd' and payouts.trace_id_status = 'supported'
                and lines.amount_minor = payouts.amount and lines.text like '%ACME ROBOTICS INC'
                and (select count(*) from bench.match_truth as other where other.payout_id = payouts.id) = 1
                and (select count(*) from raw.bank_statement_lines as same where same.amount_minor = payouts.amount) = 1
            order by payouts.id
            limit 2
            """
        ).fetchall()
        lost, kept = (Picked(*row) for row in rows)
        for picked in (lost, kept):
            connection.execute(
                "update raw.stripe_payouts set trace_id_status = 'pending', trace_id_value = null where id = ?",
                [picked.payout_id],
            )
        add_foreign_credit(connection, lost.line_id, "bsl_foreign_1")
        add_foreign_credit(connection, kept.line_id, "bsl_foreign_2")
        connection.execute("delete from raw.bank_statement_lines where bank_statement_line_id = ?", [lost.line_id])
    result = dbt_build_bank_models(warehouse_file)
    assert result.returncode == 0, result.stdout + result.stderr
    return DecoyWorld(warehouse_file, lost, kept, ("bsl_foreign_1", "bsl_foreign_2"))


def test_another_accounts_credit_is_never_matched_but_listed_beside_the_payout(decoy_world: DecoyWorld) -> None:
    lost = decoy_world.lost
    assert decoy_world.query(f"select count(*) from main.fct_payout_bank_matches where payout_id = '{lost.payout_id}'") == [(0,)]
    assert decoy_world.query(
        "select exception_type, payout_id, bank_statement_line_id, match_rule, amount_minor "
        f"from main.fct_reconciliation_exceptions where payout_id = '{lost.payout_id}'"
    ) == [("ambiguous_candidates", lost.payout_id, "bsl_foreign_1", "amount_descriptor", lost.amount_minor)]


def test_the_payouts_own_line_naming_this_account_beats_the_foreign_credit(decoy_world: DecoyWorld) -> None:
    kept = decoy_world.kept
    assert decoy_world.query(
        "select bank_statement_line_id, match_rule, amount_minor from main.fct_payout_bank_matches "
        f"where payout_id = '{kept.payout_id}'"
    ) == [(kept.line_id, "amount_descriptor", kept.amount_minor)]
    assert decoy_world.query(
        "select exception_type, payout_id from main.fct_reconciliation_exceptions "
        "where bank_statement_line_id = 'bsl_foreign_2'"
    ) == [("unmatched_bank_line", None)]


def test_no_foreign_credit_is_matched_to_anything(decoy_world: DecoyWorld) -> None:
    assert decoy_world.query(
        "select count(*) from main.fct_payout_bank_matches where bank_statement_line_id in ('bsl_foreign_1', 'bsl_foreign_2')"
    ) == [(0,)]


def usd_holidays() -> list[date]:
    with (DBT_PROJECT_DIR / "seeds" / "bank_holidays.csv").open(newline="") as seed:
        return [date.fromisoformat(row["holiday_date"]) for row in csv.DictReader(seed) if row["currency"] == "usd"]


def test_business_days_skip_the_currencys_bank_holidays(decoy_world: DecoyWorld) -> None:
    """Monday 19 January 2026 is a US Federal Reserve holiday, and no TARGET2 one."""
    numbers = dict(
        ((currency, day), number)
        for currency, day, number in decoy_world.query(
            "select currency, calendar_date, business_day_number from main.int_bank_business_days "
            "where calendar_date between date '2026-01-16' and date '2026-01-21'"
        )
    )
    friday = numbers[("usd", date(2026, 1, 16))]
    assert [numbers[("usd", date(2026, 1, day))] - friday for day in (17, 18, 19, 20, 21)] == [1, 1, 1, 1, 2]
    friday = numbers[("eur", date(2026, 1, 16))]
    assert [numbers[("eur", date(2026, 1, day))] - friday for day in (17, 18, 19, 20, 21)] == [1, 1, 1, 2, 3]


def test_exception_ages_count_business_days_without_holidays(decoy_world: DecoyWorld) -> None:
    rows = decoy_world.query(
        "select reference_date, as_of_date, age_business_days from main.fct_reconciliation_exceptions where currency = 'usd'"
    )
    holidays = usd_holidays()
    crossing = [row for row in rows if row[0] < date(2026, 1, 19) <= row[1]]
    assert crossing, "no USD exception spans the 19 January holiday"
    for reference_date, as_of_date, age in rows:
        assert age == np.busday_count(reference_date, as_of_date, holidays=holidays), (reference_date, as_of_date)
