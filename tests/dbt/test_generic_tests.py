"""The project's own generic tests, run by a real build on damaged copies of the small world: the
hash-keyed `unique` (which replaces dbt's) and `columns_not_null` name the records at fault."""

import duckdb
import pytest

from ledger.dbt_build import LedgerBuildFailed, build_ledger, culprit_rows, target_dir
from tests.dbt.builders import copy_ledger, small_world_ledger


def failures_after(tmp_path, statement: str) -> dict:
    path = copy_ledger(small_world_ledger(), tmp_path)
    with duckdb.connect(str(path)) as connection:
        transaction_id = connection.execute(
            "select id from raw.stripe_balance_transactions_landed where type = 'charge' order by id limit 1").fetchone()[0]
        connection.execute(statement.format(transaction_id=transaction_id))
    with pytest.raises(LedgerBuildFailed) as raised:
        build_ledger(path)
    return transaction_id, {failure.name.split(".")[0]: failure for failure in raised.value.failures}


def test_a_repeated_id_is_named_with_its_count(tmp_path):
    transaction_id, failures = failures_after(
        tmp_path, "insert into raw.stripe_balance_transactions_landed select * from raw.stripe_balance_transactions_landed where id = '{transaction_id}'")
    assert failures["unique_stg_stripe__balance_transactions_balance_transaction_id"].culprits == (
        {"unique_field": transaction_id, "n_records": 2},)


def test_an_empty_column_is_named_with_its_row(tmp_path):
    """Staging's raw tables refuse nulls, so the damage is to a mart, checked with the SQL dbt compiled."""
    path = copy_ledger(small_world_ledger(), tmp_path)
    with duckdb.connect(str(path)) as connection:
        line_id = connection.execute("select min(journal_line_id) from main.fct_journal_lines").fetchone()[0]
        connection.execute("update main.fct_journal_lines set journal_entry_id = null, amount_minor = null where journal_line_id = ?", [line_id])
    [compiled] = (target_dir(small_world_ledger()) / "compiled").rglob("fct_journal_lines.yml/journal_lines_complete.sql")
    culprits = culprit_rows(path, compiled.read_text())
    assert {(row["journal_line_id"], tuple(row["null_columns"])) for row in culprits} == {(line_id, ("journal_entry_id", "amount_minor"))}
