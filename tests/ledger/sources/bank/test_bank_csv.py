"""CSV exports through a column mapping: Chase's signed layout and a European debit/credit layout."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.sources.bank import CsvConfig, csv_preset, parse_statement_file

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
    parsed = parse_statement_file(bank_file("chase.csv", CHASE), csv_config=csv_preset("chase", "chase-1234"))
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


# --- Debit/credit indicator column ---------------------------------------------------------------

INDICATED = """\
Booking Date,Amount,CR/DR,Narrative
17/06/2025,"1,234.56",{credit},STRIPE PAYMENTS UK ST-K3J9X2LQ8W1Z
18/06/2025,12.50,{debit},ACCOUNT FEE
"""
INDICATED_CONFIG = CsvConfig(
    account_id="hsbc-1",
    currency="gbp",
    booking_date_column="Booking Date",
    date_format="%d/%m/%Y",
    amount_column="Amount",
    indicator_column="CR/DR",
    text_columns=("Narrative",),
    thousands_separator=",",
)


@pytest.mark.parametrize(("credit", "debit"), [("C", "D"), ("CR", "DR"), ("Credit", "Debit"), ("cr", "dr")])
def test_an_indicator_column_gives_unsigned_amounts_their_direction(bank_file, credit: str, debit: str) -> None:
    text = INDICATED.format(credit=credit, debit=debit)
    parsed = parse_statement_file(bank_file("hsbc.csv", text), csv_config=INDICATED_CONFIG)
    assert [(e.amount_minor, e.direction, e.line) for e in parsed.entries] == [(123456, "credit", 2), (1250, "debit", 3)]


def test_indicator_values_are_configurable(bank_file) -> None:
    config = CsvConfig.from_mapping(
        {**INDICATED_CONFIG.__dict__, "debit_values": ["S", "Soll"], "credit_values": ["H", "Haben"]}
    )
    parsed = parse_statement_file(bank_file("bank.csv", INDICATED.format(credit="H", debit="S")), csv_config=config)
    assert [e.direction for e in parsed.entries] == ["credit", "debit"]


def test_an_indicator_that_is_neither_refuses_the_file_naming_column_line_and_value(refused) -> None:
    error = refused("hsbc.csv", INDICATED.format(credit="CR", debit="X"), csv_config=INDICATED_CONFIG)
    assert error.line == 3
    assert error.reason == (
        "column 'CR/DR' is 'X', neither a debit value (D, DR, Debit) nor a credit value (C, CR, Credit);"
        " set debit_values and credit_values to this bank's indicators"
    )


def test_a_negative_amount_marked_as_credit_is_refused(refused) -> None:
    text = INDICATED.format(credit="CR", debit="DR").replace('"1,234.56"', "-1234.56")
    error = refused("hsbc.csv", text, csv_config=INDICATED_CONFIG)
    assert (error.line, error.reason) == (2, "amount '-1234.56' is negative but column 'CR/DR' says credit")


def test_an_indicator_column_needs_an_amount_column() -> None:
    with pytest.raises(ValueError, match="indicator_column needs amount_column"):
        CsvConfig(
            account_id="a", currency="usd", booking_date_column="Date", date_format="%Y-%m-%d",
            debit_column="Out", credit_column="In", indicator_column="DC",
        )


# --- Presets: the published layouts of banks Stripe pays out to ---------------------------------

MERCURY = """\
Date (UTC),Description,Amount,Status,Source Account,Bank Description,Reference,Note,Last Four Digits,Name On Card,Category,GL Code,Timestamp,Original Currency
06-17-2025,Stripe,1234.56,Sent,Mercury Checking xx1234,STRIPE TRANSFER ST-K3J9X2LQ8W1Z,po_1PaYoUt,,,,Income,,06-17-2025 14:02:11,USD
06-18-2025,AWS,-99.00,Failed,Mercury Checking xx1234,AMAZON WEB SERVICES,,,,,Software,,06-18-2025 09:00:00,USD
06-19-2025,Stripe,250.00,Pending,Mercury Checking xx1234,STRIPE TRANSFER ST-A1B2C3D4E5F6,,,,,Income,,06-19-2025 10:00:00,USD
"""
WISE = """\
"TransferWise ID","Date","Amount","Currency","Description","Payment Reference","Running Balance","Exchange From","Exchange To","Exchange Rate","Payer Name","Payee Name","Payee Account Number","Merchant","Card Last Four Digits","Card Holder Full Name","Attachment","Note","Total fees"
"TRANSFER-81234","17-06-2025","1234.56","EUR","Received money from STRIPE TECHNOLOGY EUROPE LTD","ST-K3J9X2LQ8W1Z","5234.56","","","","STRIPE","","","","","","","","0.00"
"CARD-81235","18-06-2025","-12.50","EUR","Card transaction of 12.50 EUR issued by Hetzner","","5222.06","","","","","","","Hetzner","1234","A Person","","","0.00"
"""
REVOLUT = """\
Date started (UTC),Date completed (UTC),ID,Type,State,Description,Reference,Payer,Card number,Orig currency,Orig amount,Payment currency,Amount,Fee,Balance,Account
2025-06-16 23:10:00,2025-06-17 08:01:02,6650a1b2-0000-aaaa-bbbb-000000000001,TOPUP,COMPLETED,Money added from STRIPE,ST-K3J9X2LQ8W1Z,STRIPE,,GBP,1234.56,GBP,1234.56,0.00,5234.56,GBP Main
2025-06-18 10:00:00,,6650a1b2-0000-aaaa-bbbb-000000000002,TRANSFER,PENDING,To ACME SUPPLIES,INV-7,,,GBP,-40.00,GBP,-40.00,0.00,,GBP Main
2025-06-18 11:00:00,2025-06-18 11:00:05,6650a1b2-0000-aaaa-bbbb-000000000003,CARD_PAYMENT,REVERTED,Hotel,,,,GBP,-220.00,GBP,-220.00,0.00,,GBP Main
"""
BANK_OF_AMERICA = """\
Description,,Summary Amt.
Beginning balance as of 06/01/2025,,"4,000.00"
Total credits,,"1,234.56"
Total debits,,"-50.00"
Ending balance as of 06/30/2025,,"5,184.56"

Date,Description,Amount,Running Bal.
06/17/2025,"STRIPE DES:TRANSFER ID:ST-K3J9X2LQ8W1Z INDN:ACME ROBOTICS INC CO ID:1800948598 CCD","1,234.56","5,234.56"
06/18/2025,"ACCOUNT SERVICE FEE","-50.00","5,184.56"
"""


def test_mercury_preset_books_sent_skips_failed_and_keeps_pending(bank_file) -> None:
    parsed = parse_statement_file(bank_file("mercury.csv", MERCURY), csv_config=csv_preset("mercury", "mercury-1234"))
    assert [(e.amount_minor, e.direction, e.status, e.line) for e in parsed.entries] == [
        (123456, "credit", "booked", 2),
        (25000, "credit", "pending", 4),
    ]
    payout = parsed.entries[0]
    assert (payout.booking_date, payout.currency, payout.customer_reference) == (date(2025, 6, 17), "usd", "po_1PaYoUt")
    assert payout.text == "Stripe STRIPE TRANSFER ST-K3J9X2LQ8W1Z"


def test_an_unknown_status_value_is_refused_naming_it(refused) -> None:
    error = refused("mercury.csv", MERCURY.replace(",Failed,", ",Bounced,"), csv_config=csv_preset("mercury", "m-1"))
    assert (error.line, error.reason) == (
        3,
        "column 'Status' is 'Bounced', not one of Sent, Received, Pending, Failed, Cancelled (add it to status_values)",
    )


def test_wise_preset(bank_file) -> None:
    parsed = parse_statement_file(bank_file("wise.csv", WISE), csv_config=csv_preset("wise", "wise-eur", currency="eur"))
    payout, card = parsed.entries
    assert (payout.amount_minor, payout.direction, payout.booking_date) == (123456, "credit", date(2025, 6, 17))
    assert (payout.bank_reference, payout.customer_reference) == ("TRANSFER-81234", "ST-K3J9X2LQ8W1Z")
    assert (card.amount_minor, card.direction, card.currency) == (1250, "debit", "eur")


def test_revolut_business_preset_books_completed_rows_by_their_completion_day(bank_file) -> None:
    config = csv_preset("revolut_business", "revolut-gbp", currency="gbp")
    (payout,) = parse_statement_file(bank_file("revolut.csv", REVOLUT), csv_config=config).entries
    assert (payout.amount_minor, payout.direction, payout.booking_date) == (123456, "credit", date(2025, 6, 17))
    assert (payout.bank_reference, payout.customer_reference, payout.transaction_code) == (
        "6650a1b2-0000-aaaa-bbbb-000000000001",
        "ST-K3J9X2LQ8W1Z",
        "TOPUP",
    )


def test_bank_of_america_preset_skips_the_summary_block(bank_file) -> None:
    config = csv_preset("bank_of_america", "boa-1")
    payout, fee = parse_statement_file(bank_file("boa.csv", BANK_OF_AMERICA), csv_config=config).entries
    assert (payout.amount_minor, payout.direction, payout.line) == (123456, "credit", 8)
    assert (fee.amount_minor, fee.direction) == (5000, "debit")


def test_a_json_mapping_selects_a_preset_and_overrides_it() -> None:
    config = CsvConfig.from_mapping({"preset": "chase", "account_id": "chase-9", "currency": "cad"})
    assert (config.account_id, config.currency, config.booking_date_column) == ("chase-9", "cad", "Posting Date")
    with pytest.raises(ValueError, match="unknown CSV preset 'monzo'; presets are chase, bank_of_america, mercury"):
        CsvConfig.from_mapping({"preset": "monzo", "account_id": "x"})


def test_a_header_that_differs_from_the_preset_is_refused_naming_the_column(refused) -> None:
    error = refused("wise.csv", WISE.replace('"Payment Reference"', '"Reference"'), csv_config=csv_preset("wise", "w", currency="eur"))
    assert (error.line, error.reason.split(";")[0]) == (1, "header has no column 'Payment Reference'")
