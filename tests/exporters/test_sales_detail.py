"""Itemizing a journal line by product and jurisdiction for the ERP files (exporters/sales_detail.py)."""

from datetime import date
from decimal import Decimal

from exporters.journal import JournalLine
from exporters.sales_detail import itemize

REVENUE = JournalLine(
    "STRIPE-main-20261006-USD", "x", "main", date(2026, 10, 6), "usd", "4000", "Revenue", "4000", "4000", -10_000, "",
    "usd", -10_000, Decimal(1),
)


def test_a_line_is_split_by_product_with_the_rest_on_a_line_without_detail():
    parts = itemize([REVENUE], {(REVENUE.journal_entry_id, "4000"): [("product prod_a", -7_000), ("product prod_b", -2_500)]})

    assert [(line.detail, line.amount_minor, line.functional_amount_minor) for line in parts] == [
        ("product prod_a", -7_000, -7_000), ("product prod_b", -2_500, -2_500), ("", -500, -500)]


def test_a_line_whose_parts_straddle_debit_and_credit_stays_whole_so_the_file_ties_to_the_trial_balance():
    """A day's refunds of prod_b exceed its sales: split, the file's debits and credits would both grow by 1,500."""
    parts = itemize([REVENUE], {(REVENUE.journal_entry_id, "4000"): [("product prod_a", -11_500), ("product prod_b", 1_500)]})

    assert parts == [REVENUE]
    assert sum(line.debit_minor for line in parts) == 0
