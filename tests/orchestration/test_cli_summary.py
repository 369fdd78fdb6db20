"""What a command says when it is done: every file it wrote with its path, counts that agree with
their nouns ("1 payout", "2 payouts") and amounts with thousands separators."""

import json

import pytest

from ledger.bank_coverage import BankCoverage
from orchestration.cli import _print_result, main
from orchestration.close_run import CloseResult, TrialBalanceRow
from orchestration.wording import counted, files_summary
from tests.dbt.builders import copy_ledger, query, small_world_ledger


@pytest.mark.parametrize(("number", "words", "said"), [
    (0, ("payout",), "0 payouts"), (1, ("payout",), "1 payout"), (2, ("payout",), "2 payouts"),
    (1_234_567, ("balance transaction",), "1,234,567 balance transactions"),
    (1, ("entry", "entries"), "1 entry"), (12, ("entry", "entries"), "12 entries"),
])
def test_a_count_agrees_with_its_noun_and_groups_its_thousands(number, words, said):
    assert counted(number, *words) == said


def test_the_files_written_are_listed_with_their_count():
    assert files_summary(["exports/main/2026-10/a.csv"]) == ["Wrote 1 file:", "  exports/main/2026-10/a.csv"]
    assert files_summary(["a.csv", "s3://bucket/b.xlsx"]) == ["Wrote 2 files:", "  a.csv", "  s3://bucket/b.xlsx"]
    assert files_summary([]) == ["Wrote 0 files"]


def test_the_close_summary_groups_amounts_and_counts_and_lists_every_file(capsys):
    result = CloseResult(
        run_id="run-1", export_run_id="run-2", balance_transactions=1_234, payouts=1, journal_entries=1, journal_lines=2,
        trial_balance=(TrialBalanceRow("usd", "1010", "Stripe clearing", 123_456_789), TrialBalanceRow("usd", "4000", "Revenue", -123_456_789),
                       TrialBalanceRow("jpy", "1010", "Stripe clearing", 1_500_000), TrialBalanceRow("jpy", "4000", "Revenue", -1_500_000)),
        export_files=(), failed_checks=(), warnings=(), passed_checks=(), payouts_matched=1, exceptions={"payout_in_transit": 2},
        bank_coverage=BankCoverage(payout_currencies=("usd",), unreconciled=()),
    )
    files = ["exports/main/2026-10/netsuite_journal_entries_main_2026-10.csv", "exports/main/2026-10/sap_journal_entries_main_2026-10.xlsx",
             "exports/main/2026-10/manifest.json", "exports/main/2026-10/close_package/close_package_main_2026-10.html"]
    _print_result(result, files)
    lines = capsys.readouterr().out.splitlines()
    assert "Ingested 1,234 balance transactions and 1 payout" in lines
    assert "Booked 1 journal entry (2 lines)" in lines
    assert f"    1010 {'Stripe clearing':<30} {'1,234,567.89':>18}" in lines
    assert f"    4000 {'Revenue':<30} {'-1,234,567.89':>18}" in lines
    assert f"    1010 {'Stripe clearing':<30} {'1,500,000':>18}" in lines
    assert "Bank: 1 payout matched to the statement; open items: payout in transit 2" in lines
    start = lines.index("Wrote 4 files:")
    assert lines[start + 1:start + 5] == [f"  {file}" for file in files]


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    path = copy_ledger(small_world_ledger(), tmp_path / "close")
    monkeypatch.setenv("CLOSE_WAREHOUSE", str(path))
    monkeypatch.setenv("CLOSE_EXPORT_DIR", str(tmp_path / "exports"))
    return path


def test_package_lists_the_files_it_wrote(warehouse, tmp_path, capsys):
    assert main(["package", "--period", "2026-10"]) == 0
    out = capsys.readouterr().out.splitlines()
    folder = tmp_path / "exports" / "main" / "2026-10" / "close_package"
    written = [folder / "close_package_main_2026-10.html", folder / "close_package_main_2026-10.xlsx", folder / "manifest.json"]
    start = out.index("Wrote 3 files:")
    assert sorted(out[start + 1:start + 4]) == sorted(f"  {path}" for path in written)
    assert all(path.exists() for path in written)
    exceptions = query(warehouse, "select count(*) from main.fct_reconciliation_exceptions where entity_id = 'main'")[0][0]
    assert any(line.startswith(f"  {counted(exceptions, 'open exception')}") for line in out), out


def test_export_lists_every_file_and_groups_its_totals(warehouse, tmp_path, capsys):
    assert main(["export", "--period", "2026-10", "--target", "sap"]) == 0
    out = capsys.readouterr().out.splitlines()
    folder = tmp_path / "exports" / "main" / "2026-10"
    files = sorted(path for path in folder.iterdir() if path.is_file())
    assert folder / "manifest.json" in files and len(files) > 2
    start = out.index(f"Wrote {len(files)} files:")
    assert sorted(out[start + 1:start + 1 + len(files)]) == [f"  {path}" for path in files]
    # Each file's totals as its manifest proves them, in major units with thousands separators.
    for entry in json.loads((folder / "manifest.json").read_text())["files"]:
        usd = entry["totals"]["USD"]
        grouped = [f"{usd[side + '_minor'] // 100:,}.{usd[side + '_minor'] % 100:02d}" for side in ("debit", "credit")]
        assert usd["debit_minor"] >= 100_000, "the check needs a USD total above a thousand"
        [line] = [line for line in out if line.startswith(f"{entry['name']}: {entry['rows']:,} rows; ")]
        assert f"USD debit {grouped[0]} credit {grouped[1]}" in line
