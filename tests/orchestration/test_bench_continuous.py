"""`stripe-close bench continuous`: a history the sandbox cannot simulate is one line and exit 2,
before anything is simulated or written (the benchmark itself is run by `make bench`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.cli import main


def test_a_history_shorter_than_the_sandbox_allows_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "continuous", "--histories", "1000000,100000", "--transactions-per-day", "30000", "--workdir", str(tmp_path)]) == 2

    assert capsys.readouterr().err == (
        "stripe-close bench continuous: a history of 100,000 transactions at 30,000 a day is 3 days; "
        "the sandbox needs at least 10: give more transactions or fewer a day\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_without_a_rate_every_history_gets_the_busiest_day_the_smallest_allows() -> None:
    from orchestration.bench_continuous import default_transactions_per_day

    # `make bench`: 100,000 at 30,000 a day was refused (3 days); 10,000 a day gives it the 10 days it needs.
    assert default_transactions_per_day([100_000, 300_000]) == 10_000
    assert default_transactions_per_day([300_000, 100_000]) == 10_000
    # Large histories keep the 30,000 a day (about 1,250 an hour) the benchmark's figures were taken at.
    assert default_transactions_per_day([1_000_000, 11_000_000]) == 30_000


def test_earlier_copies_of_the_simulated_span_add_history_but_nothing_to_stripes_balance(tmp_path: Path) -> None:
    """`--simulated-days`: the days before the simulated ones are copies of them, a span earlier
    each, with their own ids; each copy ends by moving what it left in the balance to the reserve,
    so the ledger's Stripe clearing still equals the balance the sandbox API serves."""
    from datetime import datetime

    from ledger import warehouse
    from orchestration.bench_earlier_history import land_earlier_copies
    from sandbox.merchant import WorldSpec, simulate
    from sandbox.raw_tables import load_world

    spec = WorldSpec(seed=3, days=10, transactions_per_day=30)
    balance = "select currency, sum(net) from raw.stripe_balance_transactions group by all order by all"
    with warehouse.connect(tmp_path / "warehouse.duckdb") as connection:
        counts = load_world(connection, simulate(spec), source_objects=False)
        simulated = connection.execute(balance).fetchall()
        payouts = connection.execute("select count(*) from raw.stripe_payouts").fetchall()[0][0]
        with warehouse.transaction(connection):
            added = land_earlier_copies(connection, 2, datetime(2026, 10, 1), spec.days)

        assert connection.execute(balance).fetchall() == simulated
        reserves = connection.execute(
            "select id, currency, net, created::varchar, reporting_category from raw.stripe_balance_transactions "
            "where id like 'txn_reserve_%' order by created, currency").fetchall()
        assert [row[0] for row in reserves] == [f"txn_reserve_{currency}_copy{copy}" for copy in (2, 1) for currency, _ in simulated]
        assert [(row[1], row[2]) for row in reserves] == [(currency, -net) for _ in (2, 1) for currency, net in simulated]
        assert {(row[3], row[4]) for row in reserves} == {("2026-09-20 23:59:59", "risk_reserved_funds"), ("2026-09-30 23:59:59", "risk_reserved_funds")}
        assert added == 2 * counts["stripe_balance_transactions"] + len(reserves)
        assert connection.execute(
            "select min(created)::date::varchar, count(distinct id) from raw.stripe_balance_transactions").fetchall() == [
            ("2026-09-11", 3 * counts["stripe_balance_transactions"] + len(reserves))]
        # A copy's payouts and links are its own, its payouts all arrived.
        assert connection.execute(
            "select count(*), count(*) filter (where status in ('pending', 'in_transit')) from raw.stripe_payouts where id like '%\\_copy%' escape '\\'"
        ).fetchall() == [(2 * payouts, 0)]
        assert connection.execute(
            "select count(*) from raw.stripe_payout_transactions as links left join raw.stripe_balance_transactions as transactions "
            "on links.balance_transaction_id = transactions.id where transactions.id is null").fetchall() == [(0,)]
