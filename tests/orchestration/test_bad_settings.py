"""A missing or malformed setting stops a command before it touches anything: one line naming the
variable, exit 2 (docs/operations.md, "Settings")."""

import pytest

from orchestration.cli import main

CASES = [
    (["ingest"], {"CLOSE_SOURCE": "ftp"}, "CLOSE_SOURCE='ftp' is not one of api, data_pipeline, sandbox"),
    (["ingest"], {"CLOSE_ENTITY_ID": "main entity"}, "CLOSE_ENTITY_ID='main entity' may only hold letters, digits, '-' and '_' (it becomes part of ERP external ids)"),
    (["run", "--start", "2026-10-01", "--end", "2026-10-31"], {}, "STRIPE_API_KEY is not set (a restricted, read-only key is enough)"),
    (["ingest"], {"STRIPE_API_KEY": "sk_test_x", "STRIPE_MAX_REQUESTS_PER_SECOND": "fast"}, "STRIPE_MAX_REQUESTS_PER_SECOND='fast' is not a number"),
    (["ingest"], {"STRIPE_API_KEY": "sk_test_x", "STRIPE_ACCOUNT_ID": "12345"}, "STRIPE_ACCOUNT_ID='12345' is not a Stripe account id (acct_...)"),
    (["ingest"], {"CLOSE_SOURCE": "data_pipeline"}, "CLOSE_DATA_PIPELINE_URI is not set: give the s3://bucket/prefix Stripe Data Pipeline delivers to"),
]


@pytest.mark.parametrize(("command", "environment", "message"), CASES, ids=[message.split("=")[0].split(" ")[0] for _, _, message in CASES])
def test_a_bad_setting_is_one_line_and_exit_2(command, environment, message, tmp_path, monkeypatch, capsys):
    for name in ("CLOSE_SOURCE", "CLOSE_ENTITY_ID", "STRIPE_API_KEY", "STRIPE_MAX_REQUESTS_PER_SECOND", "STRIPE_ACCOUNT_ID", "CLOSE_DATA_PIPELINE_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOSE_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert main(command) == 2
    captured = capsys.readouterr()
    # A missing key is the user's to give (the command names itself); a malformed value is configuration.
    prefix = "stripe-close run: " if command[0] == "run" else "configuration error: "
    assert captured.err == f"{prefix}{message}\n"
    assert captured.out == ""
    assert not (tmp_path / "warehouse.duckdb").exists()
