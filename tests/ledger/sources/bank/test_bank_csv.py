"""CSV exports through a column mapping: Chase's signed layout and a European debit/credit layout."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.sources.bank import CsvConfig, chase_csv_config, parse_statement_file

CHASE_PAYOUT = (
    "ORIG CO NAME:STRIPE ORIG ID:1800948598 DESC DATE: CO ENTRY DESCR:TRANSFER SEC:CCD TRACE#:043305133159492"
    " EED:250617 IND ID:ST-V9X2V3I1H1U7 IND NAME:ACME ROBOTICS INC TRN: 1683159492TC"
)
# Chase ends every row, but not the header, with a surplus comma.
CHASE = f"""\
Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #
CREDIT,06/17/2025,"{CHASE_PAYOUT}",1234.56,ACH_CREDIT,5234.56,,
DEBIT,06/18/2025,"ORIG CO NAME:STRIPE ORIG ID:1800948598 CO ENTRY DESCR:TRANSFER",-50.00,ACH_DEBIT,5184.56,,
CHECK,06/19/2025,CHECK 1042,-1000.00,CHECK_PAID,4184.56,1042,
"""

GERMAN = """\
Kontoauszug;DE89370400440532013000
Buchungstag;Valuta;Verwendungszweck;Soll;Haben;Waehrung
17.06.2025;18.06.2025;STRIPE PAYMENTS EUROPE ST-K3J9X2LQ8W1Z;;1.234,56;EUR
18.06.2025;18.06.2025;Kontofuehrung;-12,50;0,00;EUR
"""
GERMAN_CONFIG = CsvConfig(
    account_id="DE89370400440532013000",
    currency="eur",
    booking_date_column="Buchungstag",
    value_date_column="Valuta",
    date_format="%d.%m.%Y",
    debit_column="Soll",
    credit_column="Haben",
    currency_column="Waehrung",
    text_columns=("Verwendungszweck",),
    decimal_separator=",",
    thousands_separator=".",
    delimiter=";",
    skip_lines=1,
)


def test_chase_signed_amounts(bank_file) -> None:
    parsed = parse_statement_file(bank_file("chase.csv", CHASE), csv_config=chase_csv_config("chase-1234"))
    payout, debit, check = parsed.entries
    assert parsed.format == "csv"
    assert (payout.account_id, payout.amount_minor, payout.direction, payout.currency) == (
        "chase-1234",
        123456,
        "credit",
        "usd",
    )
    assert (payout.booking_date, payout.value_date, payout.line) == (date(2025, 6, 17), None, 2)
    assert (payout.text, payout.transaction_code, payout.bank_reference) == (CHASE_PAYOUT, "ACH_CREDIT", None)
    assert (debit.amount_minor, debit.direction) == (5000, "debit")
    assert (check.amount_minor, check.bank_reference, check.line) == (100000, "1042", 4)
    assert parsed.totals()["usd"] == {
        "credit": {"amount_minor": 123456, "count": 1},
        "debit": {"amount_minor": 105000, "count": 2},
    }


def test_debit_and_credit_columns_with_decimal_comma(bank_file) -> None:
    parsed = parse_statement_file(bank_file("konto.csv", GERMAN), csv_config=GERMAN_CONFIG)
    payout, fee = parsed.entries
    assert (payout.amount_minor, payout.direction, payout.line) == (123456, "credit", 3)
    assert (payout.booking_date, payout.value_date) == (date(2025, 6, 17), date(2025, 6, 18))
    assert payout.text == "STRIPE PAYMENTS EUROPE ST-K3J9X2LQ8W1Z"
    assert (fee.amount_minor, fee.direction, fee.currency) == (1250, "debit", "eur")


@pytest.mark.parametrize(
    ("old", "new", "line", "reason"),
    [
        pytest.param(
            "17.06.2025;18", "31.02.2025;18", 3, "date '31.02.2025' does not match the format '%d.%m.%Y'", id="bad-date"
        ),
        pytest.param(";1.234,56;", ";1.234,567;", 3, "more decimals than EUR allows", id="too-many-decimals"),
        pytest.param(
            "0,00;EUR\n", "0,00;USD\n", 4, "row in USD in a EUR statement: mixed currencies", id="mixed-currencies"
        ),
        pytest.param(
            "-12,50;0,00", "-12,50;3,00", 4, "exactly one of 'Soll' and 'Haben', found 2", id="debit-and-credit"
        ),
        pytest.param("-12,50;0,00", ";", 4, "exactly one of 'Soll' and 'Haben', found 0", id="no-amount"),
        pytest.param(
            ";Kontofuehrung;-12,50;0,00;EUR",
            ";Kontofuehrung;-12,50",
            4,
            "row has 4 fields, the header has 6",
            id="short-row",
        ),
        pytest.param("Verwendungszweck;", "Text;", 2, "header has no column 'Verwendungszweck'", id="missing-column"),
    ],
)
def test_malformed_rows_are_refused(refused, old: str, new: str, line: int, reason: str) -> None:
    assert old in GERMAN
    error = refused("konto.csv", GERMAN.replace(old, new), csv_config=GERMAN_CONFIG)
    assert error.line == line
    assert reason in error.reason


def test_a_mapping_needs_exactly_one_amount_layout() -> None:
    with pytest.raises(ValueError, match="either amount_column"):
        CsvConfig(account_id="a", currency="usd", booking_date_column="Date", date_format="%Y-%m-%d")
    with pytest.raises(ValueError, match="unknown CsvConfig keys: colour"):
        CsvConfig.from_mapping({"colour": "red"})
