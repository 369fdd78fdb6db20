"""The console script as a user runs it: `stripe-close demo`, `run` and `bench` in a fresh folder."""

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
    # The fewest days the sandbox simulates (MIN_DAYS), with a JPY sale and payouts reaching the bank.
    result = run_cli("demo", "--days", "10", "--transactions-per-day", "10", cwd=tmp_path)
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
    result = run_cli("bench", "--transactions", "300", "--days", "10", "--workdir", str(tmp_path / "bench"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["transactions"] > 300
    assert set(summary["stages"]) == {"ingest", "dbt_build", "export"}
    for stage in summary["stages"].values():
        assert stage["wall_s"] > 0 and stage["peak_rss_mb"] > 0
