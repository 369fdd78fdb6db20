import csv

import pytest

from exporters import netsuite
from exporters.journal import CurrencyTotals, ExportTotalsError
from exporters.netsuite import NetSuiteOptions
from tests.exporters.lines import JPY, KWD, USD, long_entry

OPTIONS = NetSuiteOptions(subsidiary="Parent Co")


def rows(path):
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


def test_rows_group_by_external_id_with_exact_amounts(tmp_path):
    exported = netsuite.write_csv(JPY + USD, tmp_path / "je.csv", OPTIONS)
    written = rows(exported.path)
    assert list(written[0]) == list(netsuite.HEADER)
    assert [(r["External ID"], r["Journal Entry -Line: Account"], r["Journal Entry -Line: Debit"], r["Journal Entry -Line: Credit"]) for r in written] == [
        ("STRIPE-main-20261003-JPY", "1010 Stripe Clearing", "98765", ""),
        ("STRIPE-main-20261003-JPY", "4000 Revenue", "", "100000"),
        ("STRIPE-main-20261003-JPY", "6000 Stripe Processing Fees", "1235", ""),
        ("STRIPE-main-20261003-USD", "1010 Stripe Clearing", "1000.01", ""),
        ("STRIPE-main-20261003-USD", "4000 Revenue", "", "1001.01"),
        ("STRIPE-main-20261003-USD", "6000 Stripe Processing Fees", "1.00", ""),
    ]
    assert {r["Date"] for r in written} == {"10/03/2026"}
    assert {r["Subsidiary"] for r in written} == {"Parent Co"}
    assert exported.totals == {"jpy": CurrencyTotals(100_000, 100_000), "usd": CurrencyTotals(100_101, 100_101)}
    assert exported.rows == 6


def test_three_decimal_currencies_are_refused_naming_the_entry_and_nothing_is_written(tmp_path):
    with pytest.raises(netsuite.UnsupportedPrecisionError, match=r"KWD has 3 decimals .* at most 2; refusing rather than rounding entry\(ies\) STRIPE-main-20261003-KWD"):
        netsuite.write_csv(JPY + KWD + USD, tmp_path / "je.csv", OPTIONS)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("reference", "expected"),
    [("number_name", "4000 Revenue"), ("number", "4000"), ("name", "Revenue"), ("internal_id", "58")],
)
def test_accounts_are_referenced_as_configured(tmp_path, reference, expected):
    options = NetSuiteOptions(subsidiary="S", account_reference=reference, account_ids={"1010": "12", "4000": "58", "6000": "61"})
    written = rows(netsuite.write_csv(USD, tmp_path / "je.csv", options).path)
    assert written[1]["Journal Entry -Line: Account"] == expected


def test_a_missing_internal_id_names_the_account(tmp_path):
    options = NetSuiteOptions(subsidiary="S", account_reference="internal_id", account_ids={"1010": "12"})
    with pytest.raises(netsuite.AccountReferenceError, match="account 4000 \\(Revenue\\) has no NetSuite internal id"):
        netsuite.write_csv(USD, tmp_path / "je.csv", options)


def test_date_format_is_configurable(tmp_path):
    exported = netsuite.write_csv(USD, tmp_path / "je.csv", NetSuiteOptions(subsidiary="S", date_format="%d/%m/%Y"))
    assert {r["Date"] for r in rows(exported.path)} == {"03/10/2026"}


def test_entries_above_1000_lines_are_split_into_balanced_parts(tmp_path):
    lines = long_entry(2_001) + USD
    exported = netsuite.write_csv(lines, tmp_path / "je.csv", OPTIONS)
    written = rows(exported.path)
    by_entry: dict[str, int] = {}
    count: dict[str, int] = {}
    for row in written:
        amount = netsuite.parse_major(row["Journal Entry -Line: Debit"] or "0", "usd") - netsuite.parse_major(row["Journal Entry -Line: Credit"] or "0", "usd")
        by_entry[row["External ID"]] = by_entry.get(row["External ID"], 0) + amount
        count[row["External ID"]] = count.get(row["External ID"], 0) + 1
    assert count == {"STRIPE-main-20261004-USD-P01": 1000, "STRIPE-main-20261004-USD-P02": 1000, "STRIPE-main-20261004-USD-P03": 3, "STRIPE-main-20261003-USD": 3}
    assert set(by_entry.values()) == {0}


def test_the_same_lines_give_the_same_bytes(tmp_path):
    first = netsuite.write_csv(JPY + USD, tmp_path / "a.csv", OPTIONS).path.read_bytes()
    second = netsuite.write_csv(list(JPY + USD), tmp_path / "b.csv", OPTIONS).path.read_bytes()
    assert first == second


def test_a_file_that_does_not_add_up_is_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(netsuite, "netsuite_text", lambda amount, currency: "1")
    with pytest.raises(ExportTotalsError, match=r"\(file, ledger\) minor units differ for .*'USD 4000': \(-100, -100101\)"):
        netsuite.write_csv(USD, tmp_path / "je.csv", OPTIONS)
    assert list(tmp_path.iterdir()) == []
