"""What a finance person reads on each asset after a real close: row counts, totals per currency
as integer minor units (the numeric entries Dagster plots), unmatched payouts, the trial balance
table and the export file links, each equal to what the warehouse holds."""

import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.finance_metadata import with_dbt_metadata

pytestmark = pytest.mark.e2e


def metadata_of(closed, key: str) -> dict:
    event = closed.instance.get_latest_materialization_event(dg.AssetKey.from_user_string(key))
    return event.asset_materialization.metadata


@pytest.fixture(scope="module")
def warehouse(closed):
    with duckdb.connect(str(closed.settings.warehouse), read_only=True) as connection:
        yield connection


def per_currency(warehouse, sql: str) -> dict[str, tuple]:
    return {currency: tuple(values) for currency, *values in warehouse.execute(sql).fetchall()}


def entries(metadata: dict, currencies, *names: str) -> dict[str, tuple]:
    return {currency: tuple(metadata[f"{currency}_{name}_minor"].value for name in names) for currency in currencies}


@pytest.mark.parametrize(("key", "names", "sql"), [
    ("stripe/stripe_balance_transactions", ("gross", "fee", "net"), "select currency, sum(amount), sum(fee), sum(net) from raw.stripe_balance_transactions group by all"),
    ("stripe/stripe_payouts", ("payouts",), "select currency, sum(amount) from raw.stripe_payouts group by all"),
    ("stripe/stripe_fee_details", ("fees",), "select currency, sum(amount) from raw.stripe_fee_details group by all"),
    ("bank/bank_statement_lines", ("credits", "debits"),
     "select currency, sum(amount_minor) filter (direction = 'credit'), coalesce(sum(amount_minor) filter (direction = 'debit'), 0) from raw.bank_statement_lines group by all"),
    ("fct_journal_lines", ("debits", "credits"),
     "select currency, sum(amount_minor) filter (amount_minor > 0), -sum(amount_minor) filter (amount_minor < 0) from main.fct_journal_lines group by all"),
    ("rpt_trial_balance", ("debits", "credits", "balance"), "select currency, sum(debit_minor), sum(credit_minor), sum(balance_minor) from main.rpt_trial_balance group by all"),
    ("fct_payout_bank_matches", ("matched",), "select currency, sum(amount_minor) from main.fct_payout_bank_matches group by all"),
])
def test_totals_per_currency_equal_the_warehouse(closed, warehouse, key, names, sql):
    expected = per_currency(warehouse, sql)
    metadata = metadata_of(closed, key)
    assert set(expected) == {"eur", "jpy", "usd"}
    assert entries(metadata, expected, *names) == expected
    assert all(isinstance(metadata[f"{currency}_{name}_minor"], dg.IntMetadataValue) for currency in expected for name in names)
    table = key.split("/")[-1]
    schema = "raw" if "/" in key else "main"
    assert metadata["dagster/row_count"].value == warehouse.execute(f"select count(*) from {schema}.{table}").fetchone()[0]


def test_the_totals_table_prints_major_units_from_the_integers(closed):
    totals = metadata_of(closed, "rpt_trial_balance")["totals"].value
    assert "| JPY | " in totals and "| USD | " in totals
    jpy_row = next(line for line in totals.splitlines() if line.startswith("| JPY |"))
    assert "." not in jpy_row and jpy_row.endswith("| 0 |")


def test_the_trial_balance_table_equals_the_mart(closed, warehouse):
    table = metadata_of(closed, "rpt_trial_balance")["trial_balance"]
    assert isinstance(table, dg.TableMetadataValue)
    assert {(record.data["currency"], record.data["account"]): record.data["balance_minor"] for record in table.records} == {
        (currency.upper(), account): balance
        for currency, account, balance in warehouse.execute(
            "select currency, account_code, balance_minor from main.rpt_trial_balance where balance_minor <> 0 or debit_minor <> 0"
        ).fetchall()
    }
    assert [column.name for column in table.schema.columns][:4] == ["entity", "currency", "account", "name"]


def test_unmatched_payouts_equal_the_reconciliation_exceptions(closed, warehouse):
    metadata = metadata_of(closed, "fct_reconciliation_exceptions")
    expected = per_currency(warehouse, """
        select payouts.currency, count(*), sum(payouts.amount_minor)
        from main.stg_stripe__payouts as payouts
        where payouts.payout_id in (select payout_id from main.fct_reconciliation_exceptions where payout_id is not null)
        group by all
    """)
    assert expected and {currency: (metadata[f"{currency}_unmatched_payouts"].value, metadata[f"{currency}_unmatched_payouts_minor"].value) for currency in expected} == expected
    assert metadata["unmatched_payouts"].value == sum(count for count, _ in expected.values())
    assert "In transit" in metadata["reconciliation"].value


def test_the_exports_link_their_files(closed):
    metadata = metadata_of(closed, "netsuite_journal_csv")
    links = {key: value for key, value in metadata.items() if key.startswith("file ")}
    assert set(links) == {"file main/2026-10/netsuite_journal_entries_main_2026-10.csv", "file main/2026-10/manifest.json"}
    assert all(isinstance(value, dg.PathMetadataValue) and Path(value.path).exists() for value in links.values())


def test_the_exports_give_their_totals_in_major_units_with_the_currency(closed, warehouse):
    table = metadata_of(closed, "netsuite_journal_csv")["totals_per_file_and_currency"].value
    [jpy] = [line for line in table.splitlines() if "| JPY |" in line]
    (debits,) = warehouse.execute(
        "select sum(amount_minor) from main.fct_journal_lines where currency = 'jpy' and amount_minor > 0 and period = '2026-10'"
    ).fetchone()
    # JPY has no minor unit: the yen amount itself, grouped, no decimals; never the raw integer alone.
    assert f"| JPY {debits:,} | JPY {debits:,} |" in jpy, jpy
    assert "_minor" not in table


def test_dbt_internals_stay_out_of_the_finance_metadata(closed):
    instance = closed.instance
    for key in ("fct_journal_lines", "rpt_trial_balance", "stg_stripe__payouts"):
        assert not {"unique_id", "invocation_id"} & set(metadata_of(closed, key)), key
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("fct_journal_lines"), "journal_balances")]
    )
    [record] = records.values()
    evaluation = record.event.dagster_event.event_specific_data
    assert evaluation.passed and not {"unique_id", "invocation_id"} & set(evaluation.metadata)


def test_dbt_events_before_a_failure_keep_their_figures_and_the_failure_is_raised(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create table main.fct_journal_lines as select * from (values ('jpy', 1250), ('jpy', -1250), ('usd', 99)) as lines(currency, amount_minor)")

    def dbt_events():
        yield dg.AssetMaterialization(dg.AssetKey("fct_journal_lines"))
        yield dg.AssetMaterialization(dg.AssetKey("stg_stripe__payouts"))  # a view: no table, no figures
        raise RuntimeError("dbt build failed: journal_balances")

    reported = []
    with pytest.raises(RuntimeError, match="journal_balances"):
        reported.extend(with_dbt_metadata(dg.build_asset_context(), dbt_events(), warehouse))
    journal, view = reported
    assert {name: value.value for name, value in journal.metadata.items() if name != "totals"} == {
        "dagster/row_count": 3, "jpy_debits_minor": 1250, "jpy_credits_minor": 1250, "usd_debits_minor": 99, "usd_credits_minor": 0,
    }
    assert view.metadata == {}


def test_a_failed_dbt_that_still_holds_the_warehouse_is_reported_as_its_own_failure(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('open', flush=True); time.sleep(120)", str(warehouse)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline() == "open\n"

        def dbt_events():
            yield dg.AssetMaterialization(dg.AssetKey("fct_journal_lines"))
            raise RuntimeError("dbt stream broke while dbt still ran")

        reported = []
        with pytest.raises(RuntimeError, match="dbt stream broke while dbt still ran"):
            reported.extend(with_dbt_metadata(dg.build_asset_context(), dbt_events(), warehouse))
        [journal] = reported
        assert journal.metadata == {}
    finally:
        holder.kill()
        holder.wait()
