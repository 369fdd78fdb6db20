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
            variant("CR83,25N", "CR83.25N"),
            5,
            "'83.25' is not an unsigned decimal with ',' as separator",
            id="dot-decimal",
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
