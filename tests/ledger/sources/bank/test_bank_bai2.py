"""BAI2: a small valid file, and malformed variants of it that must be refused with file, line and reason."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.sources.bank import parse_statement_file

# Control total: 03 amounts 100000 + 108325, plus the 16 amount 8325 = 216650.
# Records: account 03,16,88,49 = 4; group 02 + 4 + 98 = 6; file 01 + 6 + 99 = 8.
VALID = """\
01,121140399,3333333333,240102,1720,1,,,2/
02,3333333333,121140399,1,240102,,USD,2/
03,3333333333,USD,010,100000,,,015,108325,,/
16,165,8325,0,BANKREF1,CUSTREF1,STRIPE TRANSFER ST-K3J9X2LQ8W1Z
88,ACME ROBOTICS INC
49,216650,4/
98,216650,1,6/
99,216650,1,8/
"""


def variant(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new)


def test_valid_file(bank_file) -> None:
    parsed = parse_statement_file(bank_file("ok.bai2", VALID))
    (entry,) = parsed.entries
    assert (entry.account_id, entry.amount_minor, entry.currency, entry.direction) == (
        "3333333333",
        8325,
        "usd",
        "credit",
    )
    assert (entry.booking_date, entry.value_date, entry.line) == (date(2024, 1, 2), date(2024, 1, 2), 4)
    assert (entry.bank_reference, entry.customer_reference) == ("BANKREF1", "CUSTREF1")
    assert entry.text == "STRIPE TRANSFER ST-K3J9X2LQ8W1Z ACME ROBOTICS INC"
    assert len(parsed.checks) == 8 and all(check.ok for check in parsed.checks)


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        pytest.param(
            "".join(VALID.splitlines(keepends=True)[:6]),
            6,
            "the group opened at line 2 has no 98 trailer",
            id="truncated-group",
        ),
        pytest.param(
            "".join(VALID.splitlines(keepends=True)[:5]),
            5,
            "account 3333333333 (03 at line 3) has no 49 trailer",
            id="truncated-account",
        ),
        pytest.param(VALID.replace("99,216650,1,8/\n", ""), 7, "there is no 99 file trailer", id="truncated-file"),
        pytest.param(
            variant("16,165,8325,", "16,165,8326,"),
            6,
            "account 3333333333 control total (49 record) at line 6 says 216650, but the file adds up to 216651",
            id="wrong-total",
        ),
        pytest.param(
            variant("49,216650,4/", "49,216650,5/"),
            6,
            "account 3333333333 record count (49 record) at line 6 says 5",
            id="wrong-record-count",
        ),
        pytest.param(
            variant("98,216650,1,6/", "98,216650,2,6/"),
            7,
            "group 240102 account count (98 record) at line 7 says 2",
            id="wrong-account-count",
        ),
        pytest.param(
            variant("1,240102,,USD", "1,240230,,USD"),
            2,
            "date '240230' (YYMMDD) is not a calendar date",
            id="bad-as-of-date",
        ),
        pytest.param(
            variant("8325,0,BANKREF1", "8325,V,241301,,BANKREF1"),
            4,
            "date '241301' (YYMMDD) is not a calendar date",
            id="bad-value-date",
        ),
        pytest.param(
            variant("16,165,8325,", "16,165,83.25,"),
            4,
            "'83.25' is not a whole number (BAI2 amounts have no decimal point)",
            id="decimal-point",
        ),
        pytest.param(
            variant("16,165,8325,", "16,165,-8325,"),
            4,
            "detail amount (unsigned, direction comes from the type code) '-8325'",
            id="signed-detail",
        ),
        pytest.param(
            variant("16,165,", "16,890,"), 4, "type code 890 on a 16 detail has no defined direction", id="no-direction"
        ),
        pytest.param(
            variant("8325,0,BANKREF1", "8325,X,BANKREF1"), 4, "funds type 'X' is not one of", id="bad-funds-type"
        ),
        pytest.param(
            variant("49,216650,4/\n98,", "49,216650,4/98,"),
            6,
            "several records on one line are not supported",
            id="two-records-one-line",
        ),
        pytest.param(VALID + VALID, 9, "a record follows the 99 file trailer", id="concatenated"),
        pytest.param(variant("88,ACME", "87,ACME"), 5, "does not start with a BAI2 record code", id="unknown-record"),
        pytest.param(
            variant(",,,2/\n02", ",,,3/\n02"), 1, "BAI version '3': only version 2 files can be read", id="version"
        ),
        pytest.param(
            variant("03,3333333333,USD", "03,3333333333,US"),
            3,
            "currency 'US' is not a three-letter ISO code",
            id="bad-currency",
        ),
    ],
)
def test_malformed_files_are_refused(refused, text: str, line: int, reason: str) -> None:
    error = refused("bad.bai2", text)
    assert error.line == line
    assert reason in error.reason


def test_a_file_opening_with_a_continuation_is_refused(refused) -> None:
    error = refused("bad.bai2", "88,CONTINUED\n" + VALID, format="bai2")
    assert (error.line, error.reason) == (1, "an 88 continuation record has no record before it to continue")


def test_accepting_a_control_total_mismatch_turns_it_into_warnings(bank_file) -> None:
    path = bank_file("edited.bai2", variant("16,165,8325,", "16,165,8326,"))
    parsed = parse_statement_file(path, control_totals="warn")
    assert parsed.entries[0].amount_minor == 8326
    assert [w.split(" at line")[0] for w in parsed.warnings] == [
        "account 3333333333 control total (49 record)",
        "group 240102 control total (98 record)",
        "file control total (99 record)",
    ]


def test_amounts_are_minor_units_of_the_account_currency(bank_file) -> None:
    jpy = variant("03,3333333333,USD", "03,3333333333,JPY")
    (entry,) = parse_statement_file(bank_file("jpy.bai2", jpy)).entries
    assert (entry.amount_minor, entry.currency) == (8325, "jpy")  # 8325 yen, no implied decimals


def test_group_currency_applies_when_the_account_names_none(bank_file) -> None:
    text = variant("03,3333333333,USD", "03,3333333333,").replace(",,USD,2/", ",,CAD,2/")
    (entry,) = parse_statement_file(bank_file("cad.bai2", text)).entries
    assert entry.currency == "cad"


@pytest.mark.parametrize(
    ("text", "warning", "check_count"),
    [
        pytest.param(
            VALID + "\x1a",
            "line 9: control bytes 0x1A at the end of the file are not part of any record: ignored",
            8,
            id="trailing-sub",
        ),
        pytest.param(
            VALID + "\x04\r\n\x1a",
            "line 9: control bytes 0x04 0x1A at the end of the file are not part of any record: ignored",
            8,
            id="trailing-eot-and-sub",
        ),
        pytest.param(
            variant("49,216650,4/", "49,,4/"),
            "line 6: a 49 account trailer without a control total: the account's total is not checked"
            " (its record count is, and the 98 and 99 totals include it)",
            7,
            id="blank-49-total",
        ),
    ],
)
def test_unambiguous_deviations_parse_with_a_warning(bank_file, text: str, warning: str, check_count: int) -> None:
    parsed = parse_statement_file(bank_file("odd.bai2", text))
    assert [(e.amount_minor, e.direction, e.bank_reference) for e in parsed.entries] == [(8325, "credit", "BANKREF1")]
    assert len(parsed.checks) == check_count and all(check.ok for check in parsed.checks)
    assert parsed.warnings == (warning,)


def test_a_blank_49_total_still_leaves_the_98_total_checked(refused) -> None:
    error = refused("odd.bai2", variant("49,216650,4/", "49,,4/").replace("16,165,8325,", "16,165,8326,"))
    assert error.line == 7
    assert error.reason.startswith("group 240102 control total (98 record) at line 7 says 216650, but the file adds up to 216651")


def test_control_bytes_inside_the_file_are_still_refused(refused) -> None:
    error = refused("odd.bai2", VALID.replace("98,216650", "\x1a\n98,216650"))
    assert (error.line, error.reason) == (
        7,
        "'\\x1a' does not start with a BAI2 record code (01, 02, 03, 16, 88, 49, 98, 99)",
    )
