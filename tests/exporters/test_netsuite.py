import csv
from datetime import date

import pytest

from exporters import netsuite
from exporters.journal import CurrencyTotals, JournalLine


def line(entry: str, currency: str, account: str, amount: int, day: date = date(2026, 10, 3)) -> JournalLine:
    return JournalLine(
        journal_entry_id=entry, external_id=entry, entity_id="main", accounting_date=day, currency=currency,
        account_code=account, account_name=f"Account {account}", netsuite_account=f"{account} Account {account}",
        sap_gl_account="0000" + account, amount_minor=amount, memo=f"Stripe activity {day} {currency.upper()}",
    )


LINES = [
    line("STRIPE-main-20261003-JPY", "jpy", "1010", 98_765),
    line("STRIPE-main-20261003-JPY", "jpy", "4000", -100_000),
    line("STRIPE-main-20261003-JPY", "jpy", "6000", 1_235),
    line("STRIPE-main-20261003-KWD", "kwd", "1010", 12_345),
    line("STRIPE-main-20261003-KWD", "kwd", "4000", -12_345),
    line("STRIPE-main-20261003-USD", "usd", "1010", 100_001),
    line("STRIPE-main-20261003-USD", "usd", "4000", -100_001),
]


def test_rows_group_by_external_id_with_exact_amounts(tmp_path):
    exported = netsuite.write_csv(LINES, tmp_path / "je.csv", subsidiary="Parent Co")
    with exported.path.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == list(netsuite.HEADER)
    assert [(r["External ID"], r["Journal Entry -Line: Account"], r["Journal Entry -Line: Debit"], r["Journal Entry -Line: Credit"]) for r in rows] == [
        ("STRIPE-main-20261003-JPY", "1010 Account 1010", "98765", ""),
        ("STRIPE-main-20261003-JPY", "4000 Account 4000", "", "100000"),
        ("STRIPE-main-20261003-JPY", "6000 Account 6000", "1235", ""),
        ("STRIPE-main-20261003-KWD", "1010 Account 1010", "12.345", ""),
        ("STRIPE-main-20261003-KWD", "4000 Account 4000", "", "12.345"),
        ("STRIPE-main-20261003-USD", "1010 Account 1010", "1000.01", ""),
        ("STRIPE-main-20261003-USD", "4000 Account 4000", "", "1000.01"),
    ]
    assert {r["Date"] for r in rows} == {"10/03/2026"}
    assert {r["Subsidiary"] for r in rows} == {"Parent Co"}
    assert [r["Currency"] for r in rows][:3] == ["JPY", "JPY", "JPY"]
    assert exported.totals == {
        "jpy": CurrencyTotals(100_000, 100_000), "kwd": CurrencyTotals(12_345, 12_345), "usd": CurrencyTotals(100_001, 100_001),
    }
    assert exported.rows == 7


def test_the_same_lines_give_the_same_bytes(tmp_path):
    first = netsuite.write_csv(LINES, tmp_path / "a.csv", subsidiary="S").path.read_bytes()
    second = netsuite.write_csv(list(LINES), tmp_path / "b.csv", subsidiary="S").path.read_bytes()
    assert first == second


def test_date_format_is_configurable(tmp_path):
    exported = netsuite.write_csv(LINES[:2], tmp_path / "je.csv", subsidiary="S", date_format="%d/%m/%Y")
    assert "03/10/2026" in exported.path.read_text()


def test_a_file_that_does_not_add_up_is_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(netsuite, "format_major", lambda amount, currency: "1")
    with pytest.raises(netsuite.ExportTotalsError, match="differ from ledger totals"):
        netsuite.write_csv(LINES, tmp_path / "je.csv", subsidiary="S")
    assert list(tmp_path.iterdir()) == []
