"""The ledger built on Apache Spark (dbt-spark, a local pyspark session) equals the ledger DuckDB
built from the same raw records, to the minor unit.

It reads the session's shared close of the small world (Stripe API and bank statements, three
currencies including JPY, a failed payout, a combined deposit) rather than closing a world of its
own: its raw tables go to Spark as parquet (ledger.spark_landing) and the models Spark builds so far
(`SPARK_MODELS`) are built there, with their proofs, by `ledger.dbt_build.build_ledger` with
CLOSE_ENGINE=spark: one Spark session, started in this process by dbt-spark. Spark's tables are
read back from their parquet files.

Java is the one prerequisite the Python environment cannot carry; the Makefile installs it
(`make test` depends on it), so the tests skip, saying so, only on a machine without it.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import duckdb
import pytest

from ledger.dbt_build import build_ledger
from ledger.engine import spark_dir
from tests.dbt.builders import copy_ledger

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("java") is None, reason="no Java runtime on PATH: Spark needs one (make test installs default-jre-headless)"),
]

# The journal and trial balance with every model they read, bank matching included.
SPARK_MODELS = ("+rpt_trial_balance",)

JOURNAL_COLUMNS = (
    "journal_line_id, journal_entry_id, external_id, entity_id, account_code, account_name, currency, period, memo,"
    " amount_minor, source_line_count, accounting_date, original_journal_entry_id, original_accounting_date, is_adjustment, is_locked"
)
TRIAL_BALANCE_COLUMNS = "entity_id, currency, account_code, account_name, account_type, balance_minor, debit_minor, credit_minor"
MATCH_COLUMNS = "payout_id, bank_statement_line_id, booking_date, currency, amount_minor, difference_minor, match_rule, confidence"


@pytest.fixture(scope="module")
def spark_built(closed_small_world, tmp_path_factory) -> tuple[Path, Path]:
    """(the shared DuckDB warehouse, the Spark folder of the same raw records built on Spark)."""
    duckdb_warehouse = closed_small_world.settings.warehouse
    # A copy: the build writes its dbt target and Spark folder beside the warehouse it is given.
    copy = copy_ledger(duckdb_warehouse, tmp_path_factory.mktemp("spark-close"))
    started = time.perf_counter()
    build_ledger(copy, {"CLOSE_ENGINE": "spark"}, select=SPARK_MODELS)
    print(f"\nSpark build of {', '.join(SPARK_MODELS)} on the small world: {time.perf_counter() - started:.1f} s")
    return duckdb_warehouse, spark_dir(copy, {})


def rows(connection: duckdb.DuckDBPyConnection, relation: str, columns: str) -> list[tuple]:
    return connection.execute(f"select {columns} from {relation} order by all").fetchall()


def spark_table(spark_folder: Path, schema: str, table: str) -> str:
    """A Spark table's parquet files, as DuckDB reads them."""
    return f"read_parquet('{spark_folder / 'warehouse' / f'{schema}.db' / table}/*.parquet')"


@pytest.mark.parametrize(("table", "columns"), [
    ("fct_journal_lines", JOURNAL_COLUMNS),
    ("rpt_trial_balance", TRIAL_BALANCE_COLUMNS),
    ("fct_payout_bank_matches", MATCH_COLUMNS),
])
def test_spark_builds_the_same_table_as_duckdb(spark_built, table, columns):
    duckdb_warehouse, spark_folder = spark_built
    with duckdb.connect(str(duckdb_warehouse), read_only=True) as connection:
        expected = rows(connection, f"main.{table}", columns)
        built_on_spark = rows(connection, spark_table(spark_folder, "main", table), columns)
    assert expected, f"the shared close has no {table} rows to compare"
    assert built_on_spark == expected


def test_spark_journal_balances_per_currency_like_duckdb(spark_built):
    """Totals per currency and account, to the minor unit: the figures an accountant compares."""
    duckdb_warehouse, spark_folder = spark_built
    totals = "currency, account_code, cast(sum(amount_minor) as bigint) as amount_minor, count(*) as lines"
    with duckdb.connect(str(duckdb_warehouse), read_only=True) as connection:
        expected = connection.execute(f"select {totals} from main.fct_journal_lines group by all order by all").fetchall()
        on_spark = connection.execute(f"select {totals} from {spark_table(spark_folder, 'main', 'fct_journal_lines')} group by all order by all").fetchall()
        currencies = {row[0] for row in expected}
    assert on_spark == expected
    assert len(currencies) >= 2, currencies


def test_seeds_load_on_spark_as_written(spark_built):
    """Empty cells are null and decimals exact (dbt-spark's own loader gave the text 'None' and floats)."""
    duckdb_warehouse, spark_folder = spark_built
    with duckdb.connect(str(duckdb_warehouse), read_only=True) as connection:
        for seed, columns in [("gl_mapping_rules", "*"), ("fx_rates", "*"), ("gl_accounts", "*")]:
            expected = rows(connection, f"accounting.{seed}", columns)
            assert rows(connection, spark_table(spark_folder, "accounting", seed), columns) == expected, seed
        assert connection.execute(
            f"select count(*) from {spark_table(spark_folder, 'accounting', 'gl_mapping_rules')} where fee_account_code = 'None'"
        ).fetchone()[0] == 0
