"""Column layouts of the CSV exports of banks that Stripe merchants are commonly paid out to.

A preset is a CsvConfig without the account (a CSV export rarely names it), and without the
currency where the bank exports one file per currency balance (Wise, Revolut). Select one by
name: `csv_preset("mercury", account_id="mercury-checking-1234")`, or in a JSON mapping
(`--csv-config`, CLOSE_BANK_CSV_CONFIG) with `{"preset": "mercury", "account_id": "..."}`; any
other key overrides the preset. Where each layout comes from, and what could not be confirmed,
is in docs/banking.md ("CSV presets"): none of these banks publishes its export format, so the
layouts are read off public importers and their fixtures, and a header that differs is refused
naming the missing column rather than read wrongly.
"""

from __future__ import annotations

from typing import Any

from ledger.sources.bank.csv_statement import CsvConfig

CSV_PRESETS: dict[str, dict[str, Any]] = {
    # Details,Posting Date,Description,Amount,Type,Balance,Check or Slip # (a surplus comma ends each row)
    "chase": {
        "currency": "usd",
        "booking_date_column": "Posting Date",
        "date_format": "%m/%d/%Y",
        "amount_column": "Amount",
        "text_columns": ("Description",),
        "bank_reference_column": "Check or Slip #",
        "transaction_code_column": "Type",
    },
    # A summary block (Description,,Summary Amt. and four balance/total rows, then a blank line),
    # then Date,Description,Amount,Running Bal. with "1,234.56" amounts.
    "bank_of_america": {
        "currency": "usd",
        "booking_date_column": "Date",
        "date_format": "%m/%d/%Y",
        "amount_column": "Amount",
        "text_columns": ("Description",),
        "thousands_separator": ",",
        "skip_lines": 6,
    },
    # Date (UTC),Description,Amount,Status,Source Account,Bank Description,Reference,Note,... (MM-DD-YYYY)
    "mercury": {
        "currency": "usd",
        "booking_date_column": "Date (UTC)",
        "date_format": "%m-%d-%Y",
        "amount_column": "Amount",
        "text_columns": ("Description", "Bank Description"),
        "customer_reference_column": "Reference",
        "status_column": "Status",
        "status_values": {"Sent": "booked", "Received": "booked", "Pending": "pending", "Failed": "skip",
                          "Cancelled": "skip"},
    },
    # "TransferWise ID","Date","Amount","Currency","Description","Payment Reference","Running Balance",...
    # (DD-MM-YYYY), one file per currency balance.
    "wise": {
        "booking_date_column": "Date",
        "date_format": "%d-%m-%Y",
        "amount_column": "Amount",
        "currency_column": "Currency",
        "text_columns": ("Description",),
        "bank_reference_column": "TransferWise ID",
        "customer_reference_column": "Payment Reference",
    },
    # Date started (UTC),Date completed (UTC),ID,Type,State,Description,Reference,Payer,...,
    # Payment currency,Amount,... (YYYY-MM-DD, sometimes with a time). Pending rows have no
    # completion date and are not booked yet: they are left for a later export.
    "revolut_business": {
        "booking_date_column": "Date completed (UTC)",
        "date_format": "%Y-%m-%d",
        "amount_column": "Amount",
        "currency_column": "Payment currency",
        "text_columns": ("Description",),
        "bank_reference_column": "ID",
        "customer_reference_column": "Reference",
        "transaction_code_column": "Type",
        "status_column": "State",
        "status_values": {"COMPLETED": "booked", "PENDING": "skip", "REVERTED": "skip", "DECLINED": "skip",
                          "FAILED": "skip"},
    },
}


def preset_fields(name: str) -> dict[str, Any]:
    if name not in CSV_PRESETS:
        raise ValueError(f"unknown CSV preset {name!r}; presets are {', '.join(CSV_PRESETS)}")
    return dict(CSV_PRESETS[name])


def csv_preset(name: str, account_id: str, **overrides: Any) -> CsvConfig:
    """The named bank layout for `account_id`; `overrides` (e.g. `currency="eur"`) complete or change it."""
    return CsvConfig(**{**preset_fields(name), "account_id": account_id, **overrides})
