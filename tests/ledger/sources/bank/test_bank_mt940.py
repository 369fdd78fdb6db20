"""MT940: a small valid statement, its malformed variants, and the dialects banks write."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.sources.bank import parse_statement_file

VALID = """\
:20:STMT1
:25:DE89370400440532013000
:28C:1/1
:60F:C240102EUR100,00
:61:2401020102CR83,25NTRFpo_1//BANKREF1
:86:STRIPE PAYOUT ST-K3J9X2LQ8W1Z
:61:2401020102D3,NCHGNONREF
:62F:C240102EUR180,25
-
"""


def variant(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new)


def test_valid_statement(bank_file) -> None:
    parsed = parse_statement_file(bank_file("ok.sta", VALID))
    payout, fee = parsed.entries
    assert parsed.format == "mt940"
    assert (payout.account_id, payout.amount_minor, payout.currency, payout.direction, payout.line) == (
        "DE89370400440532013000",
        8325,
        "eur",
        "credit",
        5,
    )
    assert (payout.customer_reference, payout.bank_reference, payout.text) == (
        "po_1",
        "BANKREF1",
        "STRIPE PAYOUT ST-K3J9X2LQ8W1Z",
    )
    assert (fee.amount_minor, fee.direction, fee.customer_reference, fee.transaction_code) == (
        300,
        "debit",
        None,
        "NCHG",
    )
    assert [(c.stated, c.computed, c.ok) for c in parsed.checks] == [(18025, 18025, True)]
    assert {(b.code, b.amount_minor) for b in parsed.balances} == {("60F", 10000), ("62F", 18025)}


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        pytest.param(
            VALID.replace(":62F:C240102EUR180,25\n-\n", ""),
            7,
            "has no closing balance :62F:/:62M: — the file is truncated",
            id="truncated",
        ),
        pytest.param(
            variant(":61:2401020102CR", ":61:2402300230CR"),
            5,
            "date '240230' (YYMMDD) is not a calendar date",
            id="bad-value-date",
        ),
        pytest.param(
            variant(":61:2401020102CR", ":61:2401021302CR"),
            5,
            "entry date '1302' (MMDD) is not a calendar date",
            id="bad-entry-date",
        ),
        pytest.param(
            variant(":62F:C240102EUR", ":62F:C240102USD"),
            8,
            "mixed currencies in one MT940 statement",
            id="mixed-currencies",
        ),
        pytest.param(variant("CR83,25N", "CR83,255N"), 5, "more decimals than EUR allows", id="too-many-decimals"),
        pytest.param(
            variant("CR83,25N", "CR1.083,25N"),
            5,
            "'1.083,25' is not an unsigned decimal with ',' as separator",
            id="grouped-amount",
        ),
        pytest.param(
            variant("CR83,25N", "CR83.255N"),
            5,
            "'83.255' has more decimals than EUR allows",
            id="dot-decimal-with-grouping-or-too-many-decimals",
        ),
        pytest.param(variant(":60F:C240102EUR100,00\n", ""), 4, ":61: before the opening balance", id="no-opening"),
        pytest.param(variant(":25:DE89370400440532013000\n", ""), 3, "no :25: account identification", id="no-account"),
        pytest.param(
            variant(":61:2401020102D3,NCHGNONREF", ":61:2401020102X3,NCHGNONREF"),
            7,
            "is not a statement line",
            id="bad-statement-line",
        ),
        pytest.param(variant(":28C:1/1", ":28C:1/1\n:99X:SOMETHING"), 4, "unknown MT940 tag :99X:", id="unknown-tag"),
        pytest.param(
            variant(":60F:C240102EUR100,00", ":60F:C240102EUR100,00\nSTRAY TEXT"),
            5,
            "unexpected text 'STRAY TEXT' after :60F:",
            id="stray-text",
        ),
    ],
)
def test_malformed_statements_are_refused(refused, text: str, line: int, reason: str) -> None:
    error = refused("bad.sta", text)
    assert error.line == line
    assert reason in error.reason


def test_a_closing_balance_that_does_not_add_up_is_a_warning(bank_file) -> None:
    parsed = parse_statement_file(bank_file("gap.sta", variant("EUR180,25", "EUR190,00")))
    assert len(parsed.entries) == 2
    assert parsed.warnings == (
        "statement at line 1 EUR closing balance (:62F:) at line 8 says 19000, but the file adds up to 18025:"
        " entries may be missing from this file",
    )


@pytest.mark.parametrize(
    ("value_date", "entry_date", "booking_date"),
    [
        ("231231", "0102", date(2024, 1, 2)),
        ("240102", "1229", date(2023, 12, 29)),
        ("240229", "0229", date(2024, 2, 29)),
    ],
)
def test_the_entry_date_takes_the_year_closest_to_the_value_date(
    bank_file, value_date, entry_date, booking_date
) -> None:
    text = variant(":61:2401020102CR", f":61:{value_date}{entry_date}CR")
    payout = parse_statement_file(bank_file("year.sta", text)).entries[0]
    assert payout.booking_date == booking_date


def test_reversals_and_statements_in_swift_envelopes(bank_file) -> None:
    text = (
        "{1:F01BANKDEFFAXXX0000000000}{2:O9400000000000BANKDEFFAXXX00000000000000000000N}{4:\n"
        + VALID.replace("-\n", "")
        .replace(":61:2401020102CR83,25", ":61:2401020102RD83,25")  # reversal of a debit: a credit
        .replace(":61:2401020102D3,", ":61:2401020102RC3,")  # reversal of a credit: a debit
        + "-}{5:{CHK:0123456789AB}}\n"
    )
    parsed = parse_statement_file(bank_file("swift.sta", text))
    assert [(e.direction, e.amount_minor) for e in parsed.entries] == [("credit", 8325), ("debit", 300)]
    assert parsed.checks[0].ok


def test_sparkasse_line_breaks_inside_tags(bank_file) -> None:
    text = variant(
        ":61:2401020102CR83,25NTRFpo_1//BANKREF1\n:86:STRIPE PAYOUT ST-K3J9X2LQ8W1Z",
        ":61:2401020102CR\n83,25N062NONREF\n:\n86:166?00GUTSCHR. UEBERWEISUNG?20SVWZ+STRIPE PAYOUT ST-K3J9X2LQ\n8W1Z",
    )
    payout = parse_statement_file(bank_file("sparkasse.sta", text)).entries[0]
    assert (payout.amount_minor, payout.transaction_code, payout.customer_reference) == (8325, "N062", None)
    assert payout.text == "166?00GUTSCHR. UEBERWEISUNG?20SVWZ+STRIPE PAYOUT ST-K3J9X2LQ8W1Z"


TRAILING_SUB = VALID + "\x1a"
DOT_DECIMALS = variant("CR83,25N", "CR83.25N").replace("EUR180,25", "EUR180.25")
NO_TYPE_CODE = variant("CR83,25NTRFpo_1", "CR83,25po_1").replace("D3,NCHGNONREF", "D3,NONREF")
DASH_INSIDE_86 = variant(":86:STRIPE PAYOUT ST-K3J9X2LQ8W1Z\n", ":86:STRIPE PAYOUT ST-K3J9X2LQ8W1Z\n-\n")


@pytest.mark.parametrize(
    ("text", "warning", "texts", "codes"),
    [
        pytest.param(
            TRAILING_SUB,
            "line 10: control bytes 0x1A at the end of the file are not part of any record: ignored",
            ["STRIPE PAYOUT ST-K3J9X2LQ8W1Z", ""],
            ["NTRF", "NCHG"],
            id="trailing-sub",
        ),
        pytest.param(
            DOT_DECIMALS,
            "line 5: amounts with '.' as the decimal separator (SWIFT writes ','): read as decimals"
            " (2 lines in all, the last line 8)",
            ["STRIPE PAYOUT ST-K3J9X2LQ8W1Z", ""],
            ["NTRF", "NCHG"],
            id="dot-decimal",
        ),
        pytest.param(
            NO_TYPE_CODE,
            "line 5: :61: without a transaction type (such as NTRF) after the amount: read with none"
            " (2 lines in all, the last line 7)",
            ["STRIPE PAYOUT ST-K3J9X2LQ8W1Z", ""],
            [None, None],
            id="no-type-code",
        ),
        pytest.param(
            DASH_INSIDE_86,
            "line 7: a line holding only '-' inside an :86: text, followed by more of the same statement:"
            " read as part of the text, not as the end of the statement",
            ["STRIPE PAYOUT ST-K3J9X2LQ8W1Z -", ""],
            ["NTRF", "NCHG"],
            id="dash-inside-86",
        ),
    ],
)
def test_unambiguous_deviations_parse_with_a_warning(bank_file, text, warning, texts, codes) -> None:
    parsed = parse_statement_file(bank_file("odd.sta", text))
    assert [(e.amount_minor, e.direction, e.customer_reference, e.bank_reference) for e in parsed.entries] == [
        (8325, "credit", "po_1", "BANKREF1"),
        (300, "debit", None, None),
    ]
    assert [e.text for e in parsed.entries] == texts
    assert [e.transaction_code for e in parsed.entries] == codes
    assert [(c.stated, c.computed) for c in parsed.checks] == [(18025, 18025)]
    assert parsed.warnings == (warning,)


def test_a_dash_that_ends_the_statement_before_the_next_one_is_no_deviation(bank_file) -> None:
    parsed = parse_statement_file(bank_file("two.sta", VALID + VALID.replace("STMT1", "STMT2")))
    assert len(parsed.entries) == 4 and parsed.warnings == ()
    assert [c.line for c in parsed.checks] == [8, 17]


MT942 = """\
{1:F01BANKDEFFAXXX0000000000}{2:O9420000000000BANKDEFFAXXX00000000000000000000N}{4:
:20:INTRADAY1
:25:DE89370400440532013000
:28C:7/1
:34F:EURD0,
:34F:EURC0,
:13D:2401021215+0100
:61:2401020102CR83,25NTRFpo_1//BANKREF1
:86:STRIPE PAYOUT ST-K3J9X2LQ8W1Z
:61:2401020102D3,NCHGNONREF
:61:2401020102ED1,50NMSCNONREF//FEE2
:90D:2EUR4,50
:90C:1EUR83,25
-}
"""


def test_an_mt942_interim_report_parses_and_checks_its_totals(bank_file) -> None:
    parsed = parse_statement_file(bank_file("intraday.sta", MT942))
    assert parsed.format == "mt940"
    assert [(e.line, e.amount_minor, e.direction, e.currency, e.status, e.bank_reference) for e in parsed.entries] == [
        (8, 8325, "credit", "eur", "booked", "BANKREF1"),
        (10, 300, "debit", "eur", "booked", None),
        (11, 150, "debit", "eur", "booked", "FEE2"),
    ]
    assert parsed.entries[0].text == "STRIPE PAYOUT ST-K3J9X2LQ8W1Z"
    assert parsed.balances == ()
    assert [(c.name, c.line, c.stated, c.computed) for c in parsed.checks] == [
        ("interim report at line 2 EUR debit count (:90D:)", 12, 2, 2),
        ("interim report at line 2 EUR debit sum (:90D:)", 12, 450, 450),
        ("interim report at line 2 EUR credit count (:90C:)", 13, 1, 1),
        ("interim report at line 2 EUR credit sum (:90C:)", 13, 8325, 8325),
    ]
    assert parsed.warnings == ()


def test_an_mt942_whose_totals_disagree_is_refused_unless_accepted(refused, bank_file) -> None:
    damaged = MT942.replace(":90C:1EUR83,25", ":90C:2EUR93,25")
    error = refused("intraday.sta", damaged)
    assert error.line == 13
    assert error.reason.startswith(
        "interim report at line 2 EUR credit count (:90C:) at line 13 says 2, but the file adds up to 1;"
        " interim report at line 2 EUR credit sum (:90C:) at line 13 says 9325, but the file adds up to 8325."
        " The file is damaged or was edited"
    )
    accepted = parse_statement_file(bank_file("accepted.sta", damaged), control_totals="warn")
    assert len(accepted.entries) == 3
    assert accepted.warnings == (
        "interim report at line 2 EUR credit count (:90C:) at line 13 says 2, but the file adds up to 1",
        "interim report at line 2 EUR credit sum (:90C:) at line 13 says 9325, but the file adds up to 8325",
    )


def test_an_mt942_in_another_currency_than_its_floor_limit_is_refused(refused) -> None:
    error = refused("intraday.sta", MT942.replace(":90D:2EUR4,50", ":90D:2USD4,50"))
    assert (error.line, error.reason) == (
        12,
        ":90D: is in USD but this statement's balances are in EUR: mixed currencies in one MT940 statement",
    )
