"""Loading statement files from a folder or an S3 prefix (moto over HTTP) into raw.bank_statement_lines."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ledger import warehouse
from ledger.sources.bank.inbox import FolderInbox, S3Inbox, load_inbox
from sandbox.bank_statements import BankAccountStatement, BankEntry, write_bai2

STATEMENT = BankAccountStatement(
    account_id="USD-OPERATING-4410",
    currency="usd",
    date_from=date(2026, 10, 5),
    date_to=date(2026, 10, 6),
    opening_balance_minor=1_000_000,
    entries=(
        BankEntry(date(2026, 10, 5), date(2026, 10, 5), 123_456, "credit", "B1", "ST-AAAAAAAAAAAA", "STRIPE TRANSFER ST-AAAAAAAAAAAA ACME"),
        BankEntry(date(2026, 10, 6), date(2026, 10, 6), 2_500, "debit", "B2", None, "BANK FEE"),
    ),
)
MT940 = """\
:20:STMT1
:25:DE89370400440532013000
:28C:1/1
:60F:C261005EUR100,00
:61:2610051005CR83,25NTRFNONREF//BANKREF1
:86:STRIPE TRANSFER ST-BBBBBBBBBBBB
:62F:C261005EUR183,25
-
"""
# Each malformed file, and the line and reason it is refused with.
MALFORMED = {
    "bad_date.sta": (MT940.replace(":61:2610051005", ":61:2613051005"), 5, "not a calendar date"),
    "mixed_currencies.sta": (MT940.replace("C261005EUR183,25", "C261005USD183,25"), 7, "mixed currencies"),
}


def bai2_text(tmp_path: Path, statement: BankAccountStatement = STATEMENT) -> str:
    path = write_bai2([statement], tmp_path / "written.bai2", sender_id="121000248", receiver_id="ACME", file_id="1", created_at=datetime(2026, 10, 7, 6))
    return path.read_text()


def fill_inbox(folder: Path, tmp_path: Path) -> None:
    folder.mkdir()
    good = bai2_text(tmp_path)
    (folder / "usd.bai2").write_text(good)
    (folder / "eur.sta").write_text(MT940)
    (folder / "truncated.bai2").write_text("\n".join(good.splitlines()[:-2]) + "\n")
    (folder / "wrong_totals.bai2").write_text(good.replace("49,", "49,1", 1))
    for name, (text, _, _) in MALFORMED.items():
        (folder / name).write_text(text)


def raw(connection: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return connection.execute(sql).fetchall()


@pytest.fixture
def connection(tmp_path: Path):
    with warehouse.connect(tmp_path / "warehouse.duckdb") as connection:
        yield connection


def test_good_files_load_and_bad_ones_are_quarantined_with_file_line_and_reason(tmp_path: Path, connection) -> None:
    fill_inbox(tmp_path / "inbox", tmp_path)
    outcomes = {o.name: o for o in load_inbox(connection, FolderInbox(tmp_path / "inbox"))}

    assert {name: (o.status, o.lines) for name, o in outcomes.items()} == {
        "usd.bai2": ("loaded", 2),
        "eur.sta": ("loaded", 1),
        "truncated.bai2": ("quarantined", 0),
        "wrong_totals.bai2": ("quarantined", 0),
        "bad_date.sta": ("quarantined", 0),
        "mixed_currencies.sta": ("quarantined", 0),
    }
    for name, (_, line, reason) in MALFORMED.items():
        assert outcomes[name].message.startswith(f"{name}, line {line}")
        assert reason in outcomes[name].message
    assert outcomes["truncated.bai2"].message.startswith("truncated.bai2, line 10: the file ends early")
    assert outcomes["wrong_totals.bai2"].message.startswith(
        "wrong_totals.bai2, line 5: account USD-OPERATING-4410 control total (49 record) at line 5 says 12370368,"
        " but the file adds up to 2370368"
    )
    assert raw(connection, "select file_name, amount_minor, direction, currency, bank_reference, customer_reference, file_position from raw.bank_statement_lines order by all") == [
        ("eur.sta", 8325, "credit", "eur", "BANKREF1", None, 1),
        ("usd.bai2", 2500, "debit", "usd", "B2", None, 2),
        ("usd.bai2", 123_456, "credit", "usd", "B1", "ST-AAAAAAAAAAAA", 1),
    ]
    quarantine = {row[0]: row[1:] for row in raw(connection, "select file_name, error_line, error_reason, version from raw.bank_statement_files where status = 'quarantined'")}
    assert quarantine["bad_date.sta"][0] == 5 and "not a calendar date" in quarantine["bad_date.sta"][1]
    assert quarantine["mixed_currencies.sta"][0] == 7 and quarantine["mixed_currencies.sta"][2] is None


def test_loading_the_same_files_again_adds_nothing(tmp_path: Path, connection) -> None:
    fill_inbox(tmp_path / "inbox", tmp_path)
    inbox = FolderInbox(tmp_path / "inbox")
    load_inbox(connection, inbox)
    before = raw(connection, "select * from raw.bank_statement_lines order by all")
    files_before = raw(connection, "select * from raw.bank_statement_files order by all")
    shutil.copy(tmp_path / "inbox" / "usd.bai2", tmp_path / "inbox" / "usd-copy.bai2")

    again = load_inbox(connection, inbox)

    assert {o.status for o in again} == {"already_loaded", "already_quarantined"}
    assert sum(o.lines for o in again) == 0
    assert raw(connection, "select * from raw.bank_statement_lines order by all") == before
    assert raw(connection, "select * from raw.bank_statement_files order by all") == files_before


def test_a_changed_file_under_the_same_name_is_a_new_version_with_a_warning(tmp_path: Path, connection) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "usd.bai2").write_text(bai2_text(tmp_path))
    load_inbox(connection, FolderInbox(inbox))
    corrected = BankAccountStatement(**{**STATEMENT.__dict__, "entries": STATEMENT.entries[:1]})
    (inbox / "usd.bai2").write_text(bai2_text(tmp_path, corrected))

    [outcome] = load_inbox(connection, FolderInbox(inbox))

    assert (outcome.status, outcome.version, outcome.lines) == ("new_version", 2, 1)
    assert outcome.message.startswith("usd.bai2 changed since version 1: loaded as version 2")
    assert raw(connection, "select version, line_count, warnings[1][:30] from raw.bank_statement_files order by version") == [
        (1, 2, None),
        (2, 1, "usd.bai2 changed since version"),
    ]
    # Both versions' lines stay in raw (nothing is deleted); staging reads only version 2.
    assert raw(connection, "select count(*) from raw.bank_statement_lines") == [(3,)]


def test_s3_prefix_loads_through_boto3_and_quarantines_the_bad_file(tmp_path: Path, connection, s3_client: Any) -> None:
    fill_inbox(tmp_path / "inbox", tmp_path)
    for path in sorted((tmp_path / "inbox").iterdir()):
        s3_client.upload_file(str(path), "bank-inbox", f"statements/2026-10/{path.name}")
    s3_client.put_object(Bucket="bank-inbox", Key="elsewhere/ignored.bai2", Body=b"01,not loaded")
    inbox = S3Inbox.from_uri("s3://bank-inbox/statements", s3_client)

    outcomes = {o.name: o for o in load_inbox(connection, inbox)}
    again = load_inbox(connection, inbox)

    assert {name: o.status for name, o in outcomes.items() if not o.failed} == {"2026-10/eur.sta": "loaded", "2026-10/usd.bai2": "loaded"}
    assert len([o for o in outcomes.values() if o.failed]) == 4
    assert {o.status for o in again} == {"already_loaded", "already_quarantined"}
    assert raw(connection, "select source_uri, line_count from raw.bank_statement_files where status = 'loaded' order by all") == [
        ("s3://bank-inbox/statements/2026-10/eur.sta", 1),
        ("s3://bank-inbox/statements/2026-10/usd.bai2", 2),
    ]
    assert raw(connection, "select count(*) from raw.bank_statement_lines") == [(3,)]


def test_listing_gives_a_change_token_that_moves_when_a_file_changes(tmp_path: Path, s3_client: Any) -> None:
    s3_client.put_object(Bucket="bank-inbox", Key="in/a.bai2", Body=b"one")
    inbox = S3Inbox.from_uri("s3://bank-inbox/in/", s3_client)
    [first] = inbox.list()
    s3_client.put_object(Bucket="bank-inbox", Key="in/a.bai2", Body=b"two")
    [second] = inbox.list()
    assert (first.name, second.name) == ("a.bai2", "a.bai2")
    assert first.change_token != second.change_token
