"""`stripe-close bank parse FILE`: one JSON object on stdout, or the error on stderr and a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestration.cli import main as cli_main


def main(argv: list[str]) -> int:
    return cli_main(["bank", *argv])


def test_prints_the_statement_as_one_json_object(samples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(samples / "bai2/ministryofjustice_bai2__svb_us_example.bai2")]) == 0
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert (document["format"], document["entry_count"], err) == ("bai2", 2, "")
    first = document["entries"][0]
    assert {
        key: first[key]
        for key in ("amount_minor", "currency", "direction", "booking_date", "value_date", "account_id", "line")
    } == {
        "amount_minor": 490196,
        "currency": "usd",
        "direction": "credit",
        "booking_date": "2022-02-01",
        "value_date": "2022-02-01",
        "account_id": "1234567890",
        "line": 7,
    }
    assert (first["bank_reference"], first["customer_reference"], first["text"]) == (
        "172629",
        None,
        "SOME PAYMENT ACH OFFSET",
    )
    assert document["totals"] == {
        "usd": {"credit": {"amount_minor": 1395996, "count": 2}, "debit": {"amount_minor": 0, "count": 0}}
    }
    assert {
        "account_id": "1234567890",
        "currency": "usd",
        "kind": "closing",
        "code": "015",
        "amount_minor": 36122975,
        "date": "2022-02-02",
        "line": 12,
    } in document["balances"]


def test_refused_file_exits_non_zero_with_the_error_on_stderr(
    samples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["parse", str(samples / "bai2/venturehacks_bai2__invalid_checksum_eod.bai2")]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(
        "error: venturehacks_bai2__invalid_checksum_eod.bai2, line 15: account 3333333333 control total (49 record)"
    )


def test_accepting_a_control_total_mismatch_prints_warnings(samples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "bai2/moov-io_bai2__sample4-continuations-newline-delimited.txt"
    assert main(["parse", str(samples / name), "--accept-control-total-mismatch"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["entry_count"] == 17
    assert err.count("warning: moov-io_bai2__sample4-continuations-newline-delimited.txt: ") == 9


def test_forced_format_and_csv_mapping(tmp_path: Path, samples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(samples / "bai2/venturehacks_bai2__eod.bai2"), "--format", "mt940"]) == 1
    assert "no MT940 statement" in capsys.readouterr().err

    statement = tmp_path / "bank.csv"
    statement.write_text("Date,Amount,Memo\n2025-06-17,1234.56,STRIPE TRANSFER ST-K3J9X2LQ8W1Z\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps(
            {
                "account_id": "ops",
                "currency": "usd",
                "booking_date_column": "Date",
                "date_format": "%Y-%m-%d",
                "amount_column": "Amount",
                "text_columns": ["Memo"],
            }
        )
    )
    assert main(["parse", str(statement), "--csv-config", str(mapping)]) == 0
    (entry,) = json.loads(capsys.readouterr().out)["entries"]
    assert (entry["amount_minor"], entry["direction"], entry["text"]) == (
        123456,
        "credit",
        "STRIPE TRANSFER ST-K3J9X2LQ8W1Z",
    )


def test_a_csv_without_mapping_is_refused_with_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    statement = tmp_path / "bank.csv"
    statement.write_text("Date,Amount\n2025-06-17,1.00\n")
    assert main(["parse", str(statement)]) == 1
    assert "For a CSV export pass a column mapping (csv_config, CLI: --csv-config FILE.json)" in capsys.readouterr().err


def test_a_csv_preset_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    statement = tmp_path / "wise.csv"
    statement.write_text(
        '"TransferWise ID","Date","Amount","Currency","Description","Payment Reference"\n'
        '"TRANSFER-1","17-06-2025","1234.56","EUR","Received money from STRIPE","ST-K3J9X2LQ8W1Z"\n'
    )
    preset = ["--csv-preset", "wise", "--csv-account", "wise-eur"]
    assert main(["parse", str(statement), *preset]) == 1
    assert capsys.readouterr().err == "error: wise exports one file per currency: pass --csv-currency CODE\n"
    assert main(["parse", str(statement), *preset, "--csv-currency", "eur"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)["entries"]
    assert (entry["account_id"], entry["amount_minor"], entry["currency"], entry["bank_reference"]) == (
        "wise-eur",
        123456,
        "eur",
        "TRANSFER-1",
    )
    assert main(["parse", str(statement), "--csv-preset", "wise"]) == 1
    assert capsys.readouterr().err == "error: --csv-preset wise needs --csv-account ID\n"
