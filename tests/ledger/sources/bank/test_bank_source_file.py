"""What every format shares: empty files, and text encodings (byte-order marks, XML declarations)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.sources.bank import BankStatementError, CsvConfig, parse_statement_file
from tests.ledger.sources.bank.test_bank_camt import VALID

LATIN1_CAMT = VALID.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace("STRIPE PAYOUT", "STRIPE AUSZAHLUNG MÜNCHEN")
CSV = "Date,Amount,Memo\n2025-06-17,1234.56,STRIPE Überweisung\n"
CSV_CONFIG = CsvConfig(
    account_id="acct-1", currency="eur", booking_date_column="Date", date_format="%Y-%m-%d",
    amount_column="Amount", text_columns=("Memo",),
)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refusal(path: Path, **options: object) -> BankStatementError:
    with pytest.raises(BankStatementError) as caught:
        parse_statement_file(path, **options)  # type: ignore[arg-type]
    return caught.value


@pytest.mark.parametrize(("data", "reason"), [(b"", "file is empty"), (b"\r\n  \n", "file is empty (only white space)")])
def test_an_empty_file_says_so(tmp_path: Path, data: bytes, reason: str) -> None:
    error = refusal(write(tmp_path, "empty.sta", data))
    assert str(error) == f"empty.sta, whole file: {reason}"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig", "utf-32"])
def test_camt_with_a_byte_order_mark_is_decoded(tmp_path: Path, encoding: str) -> None:
    text = VALID.replace('encoding="UTF-8"', f'encoding="{encoding.removesuffix("-sig").upper()}"')
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    (entry,) = parse_statement_file(write(tmp_path, "bom.xml", data)).entries
    assert (entry.amount_minor, entry.text, entry.bank_reference) == (8325, "STRIPE PAYOUT", "BANKREF1")


def test_camt_in_a_declared_latin1_encoding_is_decoded(tmp_path: Path) -> None:
    (entry,) = parse_statement_file(write(tmp_path, "latin1.xml", LATIN1_CAMT.encode("latin-1"))).entries
    assert entry.text == "STRIPE AUSZAHLUNG MÜNCHEN"


def test_camt_in_latin1_that_declares_no_encoding_is_refused_naming_the_byte(tmp_path: Path) -> None:
    data = VALID.replace(' encoding="UTF-8"', "").replace("STRIPE PAYOUT", "MÜNCHEN").encode("latin-1")
    offset = data.index(b"\xdc")
    error = refusal(write(tmp_path, "undeclared.xml", data))
    assert error.line == data[:offset].count(b"\n") + 1
    assert error.reason == (
        f"byte 0xDC at offset {offset} is not text in UTF-8, and the file declares no other encoding"
        ' (add encoding="..." to its XML declaration)'
    )


def test_bytes_that_are_not_in_the_declared_encoding_are_refused_naming_it(tmp_path: Path) -> None:
    data = LATIN1_CAMT.replace('encoding="ISO-8859-1"', 'encoding="UTF-8"').encode("latin-1")
    error = refusal(write(tmp_path, "liar.xml", data))
    assert error.reason.endswith("is not text in utf-8, the encoding the file declares")


def test_an_unknown_declared_encoding_is_refused_naming_it(tmp_path: Path) -> None:
    data = VALID.replace('encoding="UTF-8"', 'encoding="X-BANK-7"').encode()
    error = refusal(write(tmp_path, "odd.xml", data))
    assert (error.line, error.reason) == (1, "the XML declaration names the encoding 'X-BANK-7', which is unknown")


def test_utf16_without_a_byte_order_mark_is_refused_naming_the_encoding(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, "nobom.xml", VALID.encode("utf-16-le")))
    assert error.reason == (
        "the file holds NUL bytes: UTF-16 or UTF-32 without a byte-order mark? Save it as UTF-8, or with a byte-order mark"
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "latin-1", "utf-8"])
def test_text_formats_decode_a_byte_order_mark_or_fall_back_to_latin1(tmp_path: Path, encoding: str) -> None:
    (entry,) = parse_statement_file(write(tmp_path, "bank.csv", CSV.encode(encoding)), csv_config=CSV_CONFIG).entries
    assert (entry.amount_minor, entry.text) == (123456, "STRIPE Überweisung")
