"""What Apache Spark builds of the close (dbt-spark, a local pyspark session) equals what DuckDB
built from the same raw records, to the minor unit: the GL mapping and fee split, the sales split,
the journal (its lines, drill-down and trial balance), its translation into each entity's
functional currency and the FX revaluation, revenue by product, tax by jurisdiction, what the
exports read of the ledger (through ledger.marts), bank matching to its marts (every rule's
candidates, the matches, the returns), the reconciliation exceptions, Stripe's payout
reconciliation and balance roll-forward, with the blocking proofs of the books and of the bank run
on Spark and passed.

It reads the session's shared close of the small world (Stripe API and bank statements, three
currencies including JPY, a failed payout, a combined deposit) rather than closing a world of its
own: its raw tables go to Spark as parquet (ledger.spark_landing) and the close's models
(`ledger.engine.SPARK_MODELS` and everything upstream) are built there, with their proofs, by one
`ledger.dbt_build.build_ledger` with CLOSE_ENGINE=spark: one Spark session, started in this process
by dbt-spark. Spark's tables are read back through `ledger.marts.open_marts`, as exports read them.

Java is the one prerequisite the Python environment cannot carry; the Makefile installs it
(`make test` depends on it), so the tests skip, saying so, only on a machine without it.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from exporters.currency_policy import CurrencyPolicy, load_rounding_account
from exporters.period_export import load_ledgers
from ledger.dbt_build import build_ledger, target_dir
from ledger.engine import SPARK_MODELS
from ledger.marts import open_marts
from tests.dbt.builders import copy_ledger

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("java") is None, reason="no Java runtime on PATH: Spark needs one (make test installs default-jre-headless)"),
]

# The blocking proofs of the books (DESIGN.md section 5: booked once, entries and trial balance
# balance, the drill-down ties, payouts equal their transactions, clearing equals Stripe's balance)
# and of bank matching (dbt_project/tests/bank/): each must have run on Spark and passed, not
# merely not failed.
BLOCKING_PROOFS = (
    "booked_once", "journal_balances", "trial_balance_ties", "lines_tie_to_sources", "payouts_equal_their_transactions",
    "clearing_equals_stripe_balance", "assert_stripe_balance_rolls_forward", "assert_translated_entries_balance",
    "sales_split_ties_to_gross", "sales_documents_tie_to_totals", "tax_payable_ties_to_tax", "assert_mapping_rules_resolve_uniquely",
    "assert_bank_matches_cover_each_payout_once", "assert_bank_lines_matched_to_one_payout_or_one_group",
)
# The warnings: each must have run on Spark (passed, or warned as on DuckDB).
WARNING_PROOFS = ("snapshot_covers_ledger", "assert_no_suspense_postings")

MAPPED_COLUMNS = (
    "balance_transaction_id, entity_id, balance_transaction_type, reporting_category, currency, amount_minor, fee_minor,"
    " net_minor, created_at, accounting_date, gross_account_code, stripe_fee_account_code, is_unmapped"
)
FEES_SPLIT_COLUMNS = "balance_transaction_id, fee_type, account_code, amount_minor"
PAYOUT_COLUMNS = "payout_id, currency, amount_minor, payout_status, arrival_date, trace_id, arrival_business_day, failure_business_day"
BANK_LINE_COLUMNS = (
    "bank_statement_line_id, currency, signed_amount_minor, booking_date, booking_business_day, bank_reference,"
    " is_stripe_like, text_tokens, names_this_account"
)

@pytest.fixture(scope="module")
def spark_built(closed_small_world, tmp_path_factory):
    """(the shared DuckDB warehouse, a function running SQL on the Spark build of the same raw records,
    dbt's results of that build by node name, the warehouse copy whose Spark folder holds the build)."""
    duckdb_warehouse = closed_small_world.settings.warehouse
    # A copy: the build writes its dbt target and Spark folder beside the warehouse it is given.
    copy = copy_ledger(duckdb_warehouse, tmp_path_factory.mktemp("spark-close"))
    started = time.perf_counter()
    # The singular proofs only: Spark pays a second or more per node, and the generic column tests
    # (not null, accepted values, relationships: most of the tests selected) prove nothing the
    # comparison with DuckDB does not.
    build_ledger(copy, {"CLOSE_ENGINE": "spark"}, select=SPARK_MODELS, exclude=("test_type:generic",))
    print(f"\nSpark build of {', '.join(SPARK_MODELS)} on the small world: {time.perf_counter() - started:.1f} s")
    results = json.loads((target_dir(copy) / "run_results.json").read_text())["results"]
    slowest = sorted(results, key=lambda result: -result["execution_time"])[:8]
    print("slowest nodes: " + ", ".join(f"{result['unique_id'].rsplit('.', 1)[-1]} {result['execution_time']:.1f} s" for result in slowest))
    statuses = {result["unique_id"].rsplit(".", 1)[-1]: result["status"] for result in results}
    # Read as exports read the marts: through the one interface of both engines.
    with open_marts(copy, {"CLOSE_ENGINE": "spark"}) as marts:
        yield duckdb_warehouse, lambda sql, parameters=(): marts.execute(sql, parameters).fetchall(), statuses, copy
    from pyspark.sql import SparkSession

    # dbt-spark's session, still open in this process; stopped after, so the rest of the worker's
    # tests do not share the machine with its executors.
    SparkSession.builder.getOrCreate().stop()


def in_order(rows: list[tuple]) -> list[tuple]:
    """Rows sorted alike whichever engine gave them (they order nulls differently)."""
    return sorted(rows, key=lambda row: [(value is None, str(value)) for value in row])


def duckdb_rows(warehouse: Path, sql: str) -> list[tuple]:
    with open_marts(warehouse, {"CLOSE_ENGINE": "duckdb"}) as marts:
        return in_order(marts.execute(sql).fetchall())


@pytest.mark.parametrize(("table", "columns"), [
    ("int_balance_transactions_mapped", MAPPED_COLUMNS),
    ("int_balance_transaction_fees_split", FEES_SPLIT_COLUMNS),
    ("int_bank_payouts", PAYOUT_COLUMNS),
    ("int_bank_statement_lines_deduplicated", BANK_LINE_COLUMNS),
])
def test_spark_builds_the_same_table_as_duckdb(spark_built, table, columns):
    duckdb_warehouse, on_spark, _, _ = spark_built
    expected = duckdb_rows(duckdb_warehouse, f"select {columns} from main.{table}")
    assert expected, f"the shared close has no {table} rows to compare"
    assert in_order(on_spark(f"select {columns} from main.{table}")) == expected


def duckdb_columns(warehouse: Path, table: str) -> str:
    with open_marts(warehouse, {"CLOSE_ENGINE": "duckdb"}) as marts:
        names = marts.execute(
            "select column_name from information_schema.columns where table_schema = 'main' and table_name = ?"
            " order by ordinal_position", [table],
        ).fetchall()
    return ", ".join(name for (name,) in names)


@pytest.mark.parametrize("table", ["int_bank_payout_candidates", "fct_payout_bank_matches", "fct_payout_bank_returns"])
def test_spark_reconciles_the_bank_as_duckdb(spark_built, table):
    """Every column of bank matching's candidates, matches and returns, row for row."""
    duckdb_warehouse, on_spark, _, _ = spark_built
    columns = duckdb_columns(duckdb_warehouse, table)
    expected = duckdb_rows(duckdb_warehouse, f"select {columns} from main.{table}")
    assert expected, f"the shared close has no {table} rows to compare"
    assert in_order(on_spark(f"select {columns} from main.{table}")) == expected


@pytest.mark.parametrize("table", [
    "int_balance_transaction_sales_split", "fct_journal_lines", "fct_journal_line_sources", "rpt_trial_balance",
    "fct_journal_lines_translated", "fct_fx_revaluation_lines", "rpt_revenue_by_product", "rpt_tax_payable_by_jurisdiction",
    "fct_reconciliation_exceptions", "rpt_payout_reconciliation", "rpt_stripe_balance_rollforward",
])
def test_spark_books_and_reconciles_as_duckdb(spark_built, table):
    """Every column of the journal lines, their drill-down, the trial balance, the journal in each
    entity's functional currency and its FX revaluation, revenue by product, tax by jurisdiction,
    the reconciliation exceptions, the payout reconciliation and the roll-forward (with the sales
    split the journal books from), row for row, amounts to the minor unit. The small world has no
    suspense postings to compare (rpt_suspense_postings builds, and its warning runs, on Spark)."""
    duckdb_warehouse, on_spark, _, _ = spark_built
    columns = duckdb_columns(duckdb_warehouse, table)
    expected = duckdb_rows(duckdb_warehouse, f"select {columns} from main.{table}")
    assert expected, f"the shared close has no {table} rows to compare"
    assert in_order(on_spark(f"select {columns} from main.{table}")) == expected


def test_spark_trial_balance_per_currency_is_duckdb_s(spark_built):
    """Debits and credits per currency, to the minor unit, in at least two currencies, summing to zero."""
    duckdb_warehouse, on_spark, _, _ = spark_built
    totals = (
        "select currency, cast(sum(debit_minor) as bigint), cast(sum(credit_minor) as bigint),"
        " cast(sum(balance_minor) as bigint), count(*) from main.rpt_trial_balance group by currency"
    )
    expected = duckdb_rows(duckdb_warehouse, totals)
    assert in_order(on_spark(totals)) == expected
    assert len(expected) >= 2 and all(balance == 0 and debit > 0 for _, debit, _, balance, _ in expected), expected


def test_marts_read_with_parameters_alike_on_both_engines(spark_built):
    """`?` parameters bound by each engine (ledger.marts): the matched amounts of each currency and rule."""
    duckdb_warehouse, on_spark, _, _ = spark_built
    per_rule = "select cast(sum(amount_minor) as bigint), count(*) from main.fct_payout_bank_matches where currency = ? and match_rule = ?"
    with open_marts(duckdb_warehouse, {"CLOSE_ENGINE": "duckdb"}) as marts:
        keys = marts.execute("select distinct currency, match_rule from main.fct_payout_bank_matches order by 1, 2").fetchall()
        expected = {key: marts.execute(per_rule, key).fetchone() for key in keys}
    assert len({currency for currency, _ in keys}) >= 2, keys
    assert {key: on_spark(per_rule, key)[0] for key in keys} == expected


def test_blocking_proofs_run_and_pass_on_spark(spark_built):
    """Each proof ran on Spark and passed: one left out of the build is not evaluated, not passed."""
    _, _, statuses, _ = spark_built
    assert {proof: statuses.get(proof, "not evaluated") for proof in BLOCKING_PROOFS} == dict.fromkeys(BLOCKING_PROOFS, "pass")
    assert {proof: statuses.get(proof, "not evaluated") in ("pass", "warn") for proof in WARNING_PROOFS} == dict.fromkeys(WARNING_PROOFS, True), statuses


def test_spark_maps_the_same_amounts_to_each_account(spark_built):
    """Gross, fee and net per currency and account, to the minor unit, in at least two currencies."""
    duckdb_warehouse, on_spark, _, _ = spark_built
    totals = (
        "select currency, gross_account_code, stripe_fee_account_code, cast(sum(amount_minor) as bigint),"
        " cast(sum(fee_minor) as bigint), cast(sum(net_minor) as bigint), count(*)"
        " from main.int_balance_transactions_mapped group by all"
    )
    expected = duckdb_rows(duckdb_warehouse, totals)
    assert in_order(on_spark(totals)) == expected
    assert len({row[0] for row in expected}) >= 2, expected


def test_seeds_load_on_spark_as_written(spark_built):
    """Empty cells are null and decimals exact (dbt-spark's own loader gave the text 'None' and floats)."""
    duckdb_warehouse, on_spark, _, _ = spark_built
    for seed in ("gl_mapping_rules", "fx_rates", "gl_accounts"):
        assert in_order(on_spark(f"select * from accounting.{seed}")) == duckdb_rows(duckdb_warehouse, f"select * from accounting.{seed}"), seed
    assert on_spark("select count(*) from accounting.gl_mapping_rules where fee_account_code = 'None'") == [(0,)]


def test_exports_read_the_same_ledger_from_either_engine(spark_built, monkeypatch):
    """What the NetSuite, SAP and generic exports write from, read through `ledger.marts` from the
    Spark build (CLOSE_ENGINE=spark) and from DuckDB: every entity's periods, their lines in the
    functional currency with revaluations, the drill-down and the lines itemized by product and
    jurisdiction, to the minor unit."""
    duckdb_warehouse, _, _, spark_warehouse = spark_built
    monkeypatch.delenv("CLOSE_ENGINE", raising=False)
    expected = load_ledgers(duckdb_warehouse, None, with_sources=True, for_erp=True)
    monkeypatch.setenv("CLOSE_ENGINE", "spark")
    assert load_ledgers(spark_warehouse, None, with_sources=True, for_erp=True) == expected
    rounding = CurrencyPolicy.parse("NETSUITE_CURRENCY_POLICY", "jpy:round")
    with open_marts(spark_warehouse) as marts:
        on_spark = load_rounding_account(marts, rounding)
    monkeypatch.delenv("CLOSE_ENGINE")
    with open_marts(duckdb_warehouse) as marts:
        assert on_spark == load_rounding_account(marts, rounding) is not None
    assert any(ledger.entity.functional_currency != line.currency for ledger in expected for line in ledger.lines), "no foreign-currency line"
    assert any(line.is_revaluation for ledger in expected for line in ledger.lines), "no revaluation line"
    assert any(line.detail for ledger in expected for line in ledger.erp_lines), "no itemized line"
