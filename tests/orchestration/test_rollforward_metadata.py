"""The roll-forward's figure on its asset: each Stripe account's ending balance in its own latest
month, summed per currency, so an account with no movement lately still counts."""

import duckdb

from orchestration.finance_metadata import table_metadata

ROWS = [
    # account, currency, period, category, net_amount_minor
    ("acct_main", "usd", "2026-09", "ending_balance", 10_000),
    ("acct_main", "usd", "2026-10", "ending_balance", 12_500),
    ("acct_main", "usd", "2026-10", "activity", 2_500),
    ("acct_europe", "usd", "2026-09", "ending_balance", 700),
    ("acct_europe", "eur", "2026-08", "ending_balance", 4_200),
    ("acct_main", "jpy", "2026-10", "ending_balance", 3_000),
]


def test_each_account_counts_with_its_latest_month(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        connection.execute(
            "create table main.rpt_stripe_balance_rollforward "
            "(stripe_account_id varchar, currency varchar, period varchar, category varchar, net_amount_minor bigint)")
        connection.executemany("insert into main.rpt_stripe_balance_rollforward values (?, ?, ?, ?, ?)", ROWS)
        metadata = table_metadata(connection, "main", "rpt_stripe_balance_rollforward")
    assert {key: value for key, value in metadata.items() if key.endswith("_minor")} == {
        "usd_ending_balance_minor": 13_200, "eur_ending_balance_minor": 4_200, "jpy_ending_balance_minor": 3_000}
    assert "| EUR | 42.00 |" in metadata["totals"].value
    assert "| JPY | 3,000 |" in metadata["totals"].value
