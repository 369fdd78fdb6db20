"""The console script as a user runs it: `stripe-close demo`, `run` and `bench` in a fresh folder."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

STRIPE_CLOSE = str(Path(sys.executable).with_name("stripe-close"))


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("CLOSE_", "STRIPE_", "DAGSTER_"))}
    return subprocess.run([STRIPE_CLOSE, *args], cwd=cwd, env={**environment, **(env or {})}, capture_output=True, text=True, timeout=600)


def test_demo_closes_a_simulated_month_and_matches_the_truth(tmp_path):
    result = run_cli("demo", "--days", "12", "--transactions-per-day", "25", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "The ledger equals the simulator's ground truth" in out
    assert "JPY total (must be zero): 0" in out and "USD total (must be zero): 0.00" in out
    folder = tmp_path / "exports" / "main" / "2026-10"
    written = sorted(path for path in folder.rglob("*") if path.is_file())
    lines = out.splitlines()
    start = lines.index(f"Wrote {len(written)} files:")
    # Every file: NetSuite, SAP, the accountants' journal, the close package, the manifests.
    assert sorted(lines[start + 1:start + 1 + len(written)]) == [f"  {path}" for path in written]
    assert {folder / "netsuite_journal_entries_main_2026-10.csv", folder / "sap_journal_entries_main_2026-10.xlsx",
            folder / "journal_main_2026-10.xlsx", folder / "manifest.json", folder / "close_package" / "close_package_main_2026-10.html",
            folder / "close_package" / "manifest.json"} <= set(written)
    assert (tmp_path / ".close" / "warehouse.duckdb").exists()
    assert (tmp_path / ".close" / "sandbox" / "bank" / "bank_statement.bai2").exists()
    assert "payouts matched to the statement" in out
    assert "Exported: every journal entry" in out and "with exceptions" not in out
    assert (tmp_path / ".close" / "dagster" / "dagster.yaml").exists()
    assert "sk_test_sandbox" not in out + result.stderr, "the API key must never be printed"
    # Progress on stderr, as plain lines (not a terminal); dbt's and Dagster's logs in the log file, without the key.
    assert "\x1b" not in result.stderr
    progress = result.stderr.splitlines()
    assert any(line.startswith("Stripe balance transactions: ") and line.endswith(" done") for line in progress)
    [built] = [line for line in progress if line.startswith("dbt build: ") and line.endswith(" done")]
    done, total = built.split(" ")[2].split("/")
    assert done == total
    assert "- dagster - " not in result.stderr
    [log] = (tmp_path / ".close" / "logs").glob("demo-*.log")
    text = log.read_text()
    assert "- dagster - DEBUG - " in text and "ledger_dbt_models" in text
    assert "sk_test_sandbox" not in text, "the API key must never be logged"
    assert "\x1b" not in text, "a log file is not a terminal: no color codes"


def test_an_account_settling_in_kwd_is_exported_with_exceptions_not_failed(tmp_path):
    """NetSuite keeps 2 decimals: the KWD entries are listed, the USD ones exported, and the close exits 0."""
    result = run_cli("demo", "--days", "12", "--transactions-per-day", "25", "--currencies", "usd,kwd", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "The ledger equals the simulator's ground truth" in out
    refused = [line for line in out.splitlines() if line.startswith("  netsuite main 2026-10 STRIPE-main-")]
    assert len(refused) >= 12
    assert all(line.endswith("KWD has 3 decimals and NetSuite keeps 2 (NETSUITE_CURRENCY_POLICY kwd:refuse)") and "-KWD (KWD debit " in line
               for line in refused)
    assert f"Exported with exceptions: {len(refused)} entries not exported" in out
    folder = tmp_path / "exports" / "main" / "2026-10"
    assert f"  {folder / 'netsuite_journal_entries_main_2026-10.csv'}" in out
    assert f"  {folder / 'netsuite_export_exceptions_main_2026-10.csv'}" in out

    # The export command says the same, and with the functional policy posts them in USD instead.
    export = run_cli("export", "--period", "2026-10", cwd=tmp_path)
    assert export.returncode == 0, export.stderr[-3000:]
    assert f"Exported with exceptions: {len(refused)} entries not exported" in export.stdout
    functional = run_cli("export", "--period", "2026-10", cwd=tmp_path, env={"NETSUITE_CURRENCY_POLICY": "kwd:functional"})
    assert functional.returncode == 0, functional.stderr[-3000:]
    assert "with exceptions" not in functional.stdout
    assert functional.stdout.count(": posted_in_functional_currency: KWD has 3 decimals") == len(refused)
    with (folder / "netsuite_export_exceptions_main_2026-10.csv").open(newline="") as stream:
        assert [row["action"] for row in csv.DictReader(stream)] == ["posted_in_functional_currency"] * len(refused)


def test_a_malformed_currency_policy_is_one_line_and_exit_2(tmp_path):
    result = run_cli("export", "--period", "2026-10", cwd=tmp_path, env={"NETSUITE_CURRENCY_POLICY": "kwd:truncate"})
    assert (result.returncode, result.stderr) == (2, "NETSUITE_CURRENCY_POLICY: kwd:truncate is not one of refuse, functional, round\n")


def test_run_refuses_to_start_without_a_key(tmp_path):
    result = run_cli("run", "--start", "2026-10-01", "--end", "2026-10-31", cwd=tmp_path)
    assert result.returncode == 2
    assert "STRIPE_API_KEY is not set" in result.stderr


def test_run_rejects_a_backwards_window(tmp_path):
    result = run_cli("run", "--start", "2026-10-31", "--end", "2026-10-01", cwd=tmp_path, env={"STRIPE_API_KEY": "sk_test_x"})
    assert result.returncode == 2
    assert "before --start" in result.stderr


def test_bench_prints_stages_and_a_json_summary(tmp_path):
    result = run_cli("bench", "--transactions", "3000", "--days", "10", "--workdir", str(tmp_path / "bench"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["transactions"] > 3000
    assert set(summary["stages"]) == {"ingest", "dbt_build", "export"}
    for stage in summary["stages"].values():
        assert stage["wall_s"] > 0 and stage["peak_rss_mb"] > 0
