"""OFX/QFX statements: 1.x SGML (leaves without end tags) and 2.x XML, detected from the content."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ledger.sources.bank import parse_statement_file

SGML_HEADER = """\
OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

"""
SGML_BODY = """\
<OFX>
<SIGNONMSGSRSV1>
<SONRS>
<STATUS>
<CODE>0
<SEVERITY>INFO
</STATUS>
<DTSERVER>20250620120000[-5:EST]
<LANGUAGE>ENG
</SONRS>
</SIGNONMSGSRSV1>
<BANKMSGSRSV1>
<STMTTRNRS>
<TRNUID>1
<STATUS>
<CODE>0
<SEVERITY>INFO
</STATUS>
<STMTRS>
<CURDEF>USD
<BANKACCTFROM>
<BANKID>021000021
<ACCTID>000123456789
<ACCTTYPE>CHECKING
</BANKACCTFROM>
<BANKTRANLIST>
<DTSTART>20250601
<DTEND>20250620
<STMTTRN>
<TRNTYPE>CREDIT
<DTPOSTED>20250617120000[0:GMT]
<TRNAMT>1234.56
<FITID>202506170001
<NAME>ORIG CO NAME:STRIPE
<MEMO>TRANSFER ST-K3J9X2LQ8W1Z ACME ROBOTICS INC
</STMTTRN>
<STMTTRN>
<TRNTYPE>DEBIT
<DTPOSTED>20250618
<DTAVAIL>20250619
<TRNAMT>-50.00
<FITID>202506180002
<CHECKNUM>1042
<NAME>CAFÉ &amp; CO
<MEMO>
</STMTTRN>
</BANKTRANLIST>
<LEDGERBAL>
<BALAMT>5184.56
<DTASOF>20250620
</LEDGERBAL>
<AVAILBAL>
<BALAMT>5000.00
<DTASOF>20250620
</AVAILBAL>
</STMTRS>
</STMTTRNRS>
</BANKMSGSRSV1>
</OFX>
"""
SGML = SGML_HEADER + SGML_BODY

XML = """\
<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>
<OFX>
  <SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>
    <DTSERVER>20250620</DTSERVER><LANGUAGE>ENG</LANGUAGE></SONRS></SIGNONMSGSRSV1>
  <CREDITCARDMSGSRSV1>
    <CCSTMTTRNRS>
      <TRNUID>1</TRNUID>
      <STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>
      <CCSTMTRS>
        <CURDEF>EUR</CURDEF>
        <CCACCTFROM><ACCTID>4111XXXXXXXX1111</ACCTID></CCACCTFROM>
        <BANKTRANLIST>
          <DTSTART>20250601</DTSTART><DTEND>20250620</DTEND>
          <STMTTRN>
            <TRNTYPE>DEBIT</TRNTYPE>
            <DTPOSTED>20250603</DTPOSTED>
            <TRNAMT>-12,50</TRNAMT>
            <FITID>CC-1</FITID>
            <PAYEE><NAME>Hetzner Online GmbH</NAME></PAYEE>
            <MEMO></MEMO>
          </STMTTRN>
          <STMTTRN>
            <TRNTYPE>CREDIT</TRNTYPE>
            <DTPOSTED>20250604</DTPOSTED>
            <TRNAMT>+99.00</TRNAMT>
            <FITID>CC-2</FITID>
            <REFNUM>RF-77</REFNUM>
            <NAME>Refund</NAME>
          </STMTTRN>
        </BANKTRANLIST>
        <LEDGERBAL><BALAMT>-86.50</BALAMT><DTASOF>20250620</DTASOF></LEDGERBAL>
      </CCSTMTRS>
    </CCSTMTTRNRS>
  </CREDITCARDMSGSRSV1>
</OFX>
"""


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_ofx1_sgml_statement_in_windows_1252(tmp_path: Path) -> None:
    parsed = parse_statement_file(write(tmp_path, "chase.qfx", SGML, "cp1252"))
    assert parsed.format == "ofx"
    payout, check = parsed.entries
    assert (payout.account_id, payout.amount_minor, payout.direction, payout.currency) == (
        "000123456789", 123456, "credit", "usd",
    )
    assert (payout.booking_date, payout.value_date, payout.line) == (date(2025, 6, 17), None, SGML.splitlines().index("<STMTTRN>") + 1)
    assert (payout.bank_reference, payout.transaction_code) == ("202506170001", "CREDIT")
    assert payout.text == "ORIG CO NAME:STRIPE TRANSFER ST-K3J9X2LQ8W1Z ACME ROBOTICS INC"
    assert (check.amount_minor, check.direction, check.customer_reference, check.text) == (5000, "debit", "1042", "CAFÉ & CO")
    assert (check.booking_date, check.value_date) == (date(2025, 6, 18), date(2025, 6, 19))
    assert [(b.kind, b.code, b.amount_minor, b.date) for b in parsed.balances] == [
        ("closing", "LEDGERBAL", 518456, date(2025, 6, 20)),
        ("available", "AVAILBAL", 500000, date(2025, 6, 20)),
    ]


def test_ofx1_header_on_one_line_and_without_blank_line(tmp_path: Path) -> None:
    one_line = " ".join(SGML_HEADER.split()) + "\n" + SGML_BODY
    assert [e.amount_minor for e in parse_statement_file(write(tmp_path, "wf.qfx", one_line, "cp1252")).entries] == [123456, 5000]


def test_ofx2_xml_credit_card_statement(tmp_path: Path) -> None:
    parsed = parse_statement_file(write(tmp_path, "card.ofx", XML))
    debit, refund = parsed.entries
    assert (debit.account_id, debit.amount_minor, debit.direction, debit.currency, debit.text) == (
        "4111XXXXXXXX1111", 1250, "debit", "eur", "Hetzner Online GmbH",
    )
    assert (refund.amount_minor, refund.direction, refund.customer_reference, refund.bank_reference) == (9900, "credit", "RF-77", "CC-2")
    assert [(b.code, b.amount_minor) for b in parsed.balances] == [("LEDGERBAL", -8650)]


def line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


@pytest.mark.parametrize(
    ("old", "new", "at", "reason"),
    [
        pytest.param("<TRNAMT>1234.56", "<TRNAMT>12.345", "<TRNAMT>12.345", "more decimals than USD allows", id="decimals"),
        pytest.param("<DTPOSTED>20250618", "<DTPOSTED>20250631", "<DTPOSTED>20250631", "date '20250631' is not a calendar date",
                     id="date"),
        pytest.param("<DTAVAIL>20250619\n<TRNAMT>-50.00\n", "<DTAVAIL>20250619\n", "<STMTTRN>\n<TRNTYPE>DEBIT", "STMTTRN has no TRNAMT",
                     id="no-amount"),
        pytest.param("<ACCTID>000123456789\n", "", "<STMTRS>", "the statement names no account (BANKACCTFROM/ACCTID)",
                     id="no-account"),
        pytest.param("<SEVERITY>INFO\n</STATUS>\n<STMTRS>", "<SEVERITY>ERROR\n<MESSAGE>Account closed\n</STATUS>\n<STMTRS>",
                     "<STATUS>\n<CODE>0\n<SEVERITY>ERROR", "the bank reports an error instead of a statement: code 0, Account closed", id="bank-error"),
    ],
)
def test_malformed_ofx_is_refused_naming_the_line(refused, old: str, new: str, at: str, reason: str) -> None:
    assert old in SGML
    text = SGML.replace(old, new)
    error = refused("bad.ofx", text)
    assert error.line == line_of(text, at)
    assert reason in error.reason


def test_a_truncated_ofx_file_is_refused(refused) -> None:
    cut = SGML[: SGML.index("</BANKTRANLIST>")]
    error = refused("cut.ofx", cut)
    assert error.reason == (
        f"the file ends inside <BANKTRANLIST> opened at line {SGML.splitlines().index('<BANKTRANLIST>') + 1}: it is truncated"
    )


def test_an_ofx_file_without_statement_is_refused(refused) -> None:
    error = refused("signon.ofx", SGML_HEADER + "<OFX>\n<SIGNONMSGSRSV1>\n</SIGNONMSGSRSV1>\n</OFX>\n")
    assert error.reason == "the file holds no bank or credit-card statement (STMTRS or CCSTMTRS)"
