"""A close that could not evaluate everything says so, and never shows it as passed or as zero.

No bank statements: "bank reconciliation NOT performed: no statements for EUR, JPY, USD" in the CLI
summary, the close package (HTML, XLSX, its command's output), the Dagster metadata, and a failing
warning check, instead of zeros.

A window that ends before Stripe's "now" (a first backfill of an earlier month): the sandbox Stripe
API's clock is the end of the simulated days, so ingestion records no balance snapshot, and the
clearing = Stripe balance proof has nothing to compare with. The close succeeds; the proof says it
was not evaluated, naming each currency's last day, as a warning, not a failure, and the
roll-forward proof runs and passes.

One real close of the small world, four days short of the sandbox's clock, against the sandbox
Stripe API with no bank inbox (as a user who has not configured CLOSE_BANK_INBOX yet), laid out as
`stripe-close run` lays it out; the tests read its warehouse, its result and its recorded proofs.
"""

import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import openpyxl
import pytest
from lxml import html as lxml_html

from ledger.bank_coverage import bank_coverage
from orchestration.cli import _print_result
from orchestration.close_run import CloseResult
from orchestration.defs.reporting.assets import BANK_RECONCILIATION_CHECK, close_package
from orchestration.defs.resources import ExportResource, WarehouseResource
from orchestration.finance_metadata import reconciliation_metadata
from tests.conftest import cli_layout, close_small_world
from tests.e2e.test_cli import run_cli

pytestmark = pytest.mark.e2e

NOT_PERFORMED = "bank reconciliation NOT performed: no statements for EUR, JPY, USD"


@dataclass(frozen=True)
class UnreconciledClose:
    folder: Path
    warehouse: Path
    result: CloseResult


@pytest.fixture(scope="module")
def unreconciled(small_world, tmp_path_factory) -> UnreconciledClose:
    folder = tmp_path_factory.mktemp("no-statements")
    spec = small_world.spec
    settings, instance = cli_layout(folder)
    with instance:
        # Four days short of the sandbox's clock: the window does not reach "now".
        closed = close_small_world(small_world, settings, instance, last_day=spec.start + timedelta(days=spec.days - 5))
    return UnreconciledClose(folder, settings.warehouse, closed.result)


@pytest.fixture
def run_summary(unreconciled, capsys) -> str:
    """What `stripe-close run` prints for the close."""
    _print_result(unreconciled.result)
    return capsys.readouterr().out


def test_the_run_summary_says_the_bank_reconciliation_was_not_performed(run_summary):
    assert f"Bank: {NOT_PERFORMED}\n" in run_summary
    assert "payouts matched to the statement" not in run_summary


def test_coverage_names_every_currency_with_payouts_and_no_statements(unreconciled, closed_small_world):
    with duckdb.connect(str(unreconciled.warehouse), read_only=True) as connection:
        coverage = bank_coverage(connection, ["2026-10"])
        assert coverage.payout_currencies == ("eur", "jpy", "usd") and coverage.unreconciled == ("eur", "jpy", "usd")
        assert coverage.describe() == NOT_PERFORMED
        assert bank_coverage(connection, ["2026-09"]).describe() is None, "no payouts due, nothing to reconcile"
    with duckdb.connect(str(closed_small_world.settings.warehouse), read_only=True) as connection:
        assert bank_coverage(connection, ["2026-10"]).unreconciled == ()
        assert bank_coverage(connection, None).describe() is None


def test_a_currency_without_statement_lines_in_the_period_is_named_alone(closed_small_world, tmp_path):
    # The statements of the suite's close, less the EUR lines: what a bank that sends EUR late leaves.
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(closed_small_world.settings.warehouse, copy)
    with duckdb.connect(str(copy)) as connection:
        connection.execute("delete from main.int_bank_statement_lines_deduplicated where currency = 'eur'")
        coverage = bank_coverage(connection, ["2026-10"])
        assert coverage.unreconciled == ("eur",)
        assert coverage.describe() == "bank reconciliation NOT performed: no statements for EUR"


def test_the_package_command_says_not_performed_instead_of_zeros(unreconciled, tmp_path):
    result = run_cli("package", "--period", "2026-10", cwd=unreconciled.folder, env={"CLOSE_EXPORT_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for currency in ("EUR", "JPY", "USD"):
        [line] = [line for line in lines if line.startswith(f"  {currency}:")]
        assert line.endswith(", bank reconciliation NOT performed: no statements"), line
    assert f"  0 open exceptions; {NOT_PERFORMED}" in lines
    assert "matched" not in result.stdout

    html = (tmp_path / "main" / "2026-10" / "close_package" / "close_package_main_2026-10.html").read_text()
    assert f'<div id="bank-not-performed" class="not-performed">{NOT_PERFORMED}</div>' in html
    assert "Payouts matched" not in html
    assert "Open exceptions 0 (NOT evaluated against the bank for EUR, JPY, USD)" in html
    page = lxml_html.fromstring(html)
    # The bank tie-out has no other side: it says so instead of a difference.
    for currency in ("eur", "jpy", "usd"):
        [row] = page.xpath(f"//table[@id='tie-outs-{currency}']/tbody/tr[@data-control='bank']")
        assert row.xpath("td")[-1].text_content() == f"not evaluated: no bank statements for {currency.upper()} in 2026-10"
    # The command reads the proofs the close recorded on the instance in .close/dagster.
    results = {row.get("data-result") for row in page.xpath("//table[@id='proofs']/tbody/tr")}
    assert results and results <= {"passed", "warning"}, results

    workbook = openpyxl.load_workbook(tmp_path / "main" / "2026-10" / "close_package" / "close_package_main_2026-10.xlsx")
    bank_rows = [row for row in workbook["Tie-outs"].iter_rows(min_row=2, values_only=True) if row[1] == "Operating bank movement = matched deposits"]
    assert [(row[0], row[5], row[6]) for row in bank_rows] == [
        (currency, f"not evaluated: no bank statements for {currency} in 2026-10", f"not evaluated: no bank statements for {currency} in 2026-10")
        for currency in ("EUR", "JPY", "USD")]
    summary = dict(workbook["Summary"].values)
    assert summary["Bank reconciliation"] == NOT_PERFORMED
    assert summary["USD bank reconciliation"] == "NOT performed: no statements"
    assert "USD payouts matched" not in summary
    assert summary["Open exceptions"] == "0 (NOT evaluated against the bank for EUR, JPY, USD)"


def test_the_close_package_asset_fails_its_warning_check_and_says_so(unreconciled, tmp_path):
    result = dg.materialize(
        [close_package], partition_key="2026-10", instance=dg.DagsterInstance.ephemeral(),
        resources={"warehouse": WarehouseResource(path=str(unreconciled.warehouse)), "exports": ExportResource(directory=str(tmp_path))},
    )
    [check] = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed, check.severity) == (BANK_RECONCILIATION_CHECK, False, dg.AssetCheckSeverity.WARN)
    assert check.description == f"main 2026-10: {NOT_PERFORMED}"
    [materialization] = result.asset_materializations_for_node("close_package")
    metadata = materialization.metadata
    assert metadata["main bank_reconciliation"].value == NOT_PERFORMED
    assert "main usd_payouts_matched" not in metadata and "main usd_unmatched_payouts_minor" not in metadata
    assert "| main | 2026-10 | USD |" in metadata["headline"].value and "| NOT performed: no statements | | |" in metadata["headline"].value


def test_the_reconciliation_metadata_says_not_performed(unreconciled, closed_small_world):
    with duckdb.connect(str(unreconciled.warehouse), read_only=True) as connection:
        assert reconciliation_metadata(connection)["bank_reconciliation"] == NOT_PERFORMED
    with duckdb.connect(str(closed_small_world.settings.warehouse), read_only=True) as connection:
        assert reconciliation_metadata(connection)["bank_reconciliation"] == "performed for every currency with payouts due at the bank"


def test_the_close_succeeds_and_warns_that_the_balance_proof_is_not_evaluated(unreconciled):
    result = unreconciled.result
    with duckdb.connect(str(unreconciled.warehouse), read_only=True) as connection:
        assert connection.execute("select count(*) from raw.stripe_balance_snapshots").fetchone() == (0,)
        last_days = connection.execute(
            "select currency, strftime(max(created)::date, '%Y-%m-%d') from raw.stripe_balance_transactions group by all order by 1").fetchall()
    assert [currency for currency, _ in last_days] == ["eur", "jpy", "usd"]
    assert result.failed_checks == ()
    assert result.export_files
    problems = [f"not evaluated: no Stripe balance snapshot covers {day}; run up to now or use the roll-forward" for _, day in last_days]
    # dbt's warning says each problem of its rows once (currencies whose ledgers end the same day
    # share one); its rows name the currencies. The GX suites say the same (tests/orchestration/test_quality_checks.py).
    assert dict(result.warnings)["snapshot_covers_ledger"] == "; ".join(dict.fromkeys(problems))


def test_the_roll_forward_proof_still_runs_and_passes(unreconciled):
    assert "assert_stripe_balance_rolls_forward" in unreconciled.result.passed_checks
    assert "clearing_equals_stripe_balance" in unreconciled.result.passed_checks


def test_stripe_close_run_prints_the_warning(run_summary):
    [warning] = [line for line in run_summary.splitlines() if line.startswith("Warning: snapshot_covers_ledger: ")]
    assert warning.startswith("Warning: snapshot_covers_ledger: not evaluated: no Stripe balance snapshot covers 2026-10-")
    assert warning.endswith("; run up to now or use the roll-forward")
