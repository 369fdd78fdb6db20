"""The period status asset: a real materialization over the suite's close of the small world (period
2026-10, USD, EUR and JPY, bank statements loaded) answers proven / locked / reconciled in words, in
major units, and links every file of the period over http (the download server, real HTTP)."""

import hashlib
import shutil
from decimal import Decimal

import dagster as dg
import duckdb
import pytest
import requests

from exporters.close_package.close_data import PayoutStanding, ReconciliationLine
from exporters.close_package.frozen import lock_with_packages
from ledger import period_close
from ledger.bank_coverage import BankCoverage
from orchestration.defs.export.guard import blocking_checks, proofs_at_lock
from orchestration.defs.reporting.status import close_status
from orchestration.defs.resources import ExportResource, WarehouseResource
from orchestration.download_server import serve_downloads
from orchestration.downloads import DOWNLOAD_BASE_VARIABLE
from orchestration.period_status import PeriodStatus, currency_reconciliation, reconciled_text, status_metadata
from orchestration.partitions import monthly_partitions
from tests.exporters.close_package.conftest import PERIOD

pytestmark = pytest.mark.e2e
EXPONENTS = {"usd": 2, "eur": 2, "jpy": 0}


def materialize(warehouse, exports, instance) -> dict:
    result = dg.materialize(
        [close_status], partition_key=PERIOD, instance=instance,
        resources={"warehouse": WarehouseResource(path=str(warehouse)), "exports": ExportResource(directory=str(exports))},
    )
    [materialization] = result.asset_materializations_for_node("close_status")
    return {key: value.value if hasattr(value, "value") else value for key, value in materialization.metadata.items()} | {
        "_raw": materialization.metadata
    }


def major(amount_minor: int, currency: str) -> str:
    """Independent of ledger.money: Decimal scaled by the exponent the reference notes give."""
    return f"{currency.upper()} {Decimal(amount_minor).scaleb(-EXPONENTS[currency]):,.{EXPONENTS[currency]}f}"


@pytest.fixture
def locked_copy(closed_small_world, tmp_path):
    """A copy of the closed warehouse with 2026-10 locked by a named controller (the shared close stays as it is)."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(closed_small_world.settings.warehouse, warehouse)
    lock = period_close.lock_period(warehouse, PERIOD, "controller@example.com")
    return warehouse, lock


def test_the_status_says_proven_locked_reconciled_and_links_every_file(closed_small_world, locked_copy, monkeypatch):
    warehouse, lock = locked_copy
    exports = closed_small_world.settings.export_dir
    with serve_downloads(exports) as base:
        monkeypatch.setenv(DOWNLOAD_BASE_VARIABLE, base + "/")
        metadata = materialize(warehouse, exports, closed_small_world.instance)
        folder = exports / "main" / PERIOD
        files = {path.relative_to(folder).as_posix(): path for path in folder.rglob("*") if path.is_file() and not path.name.startswith(".")}
        links = {key.removeprefix("Download "): value for key, value in metadata["_raw"].items() if key.startswith("Download ")}
        assert sorted(links) == sorted(files) and len(files) >= 8
        assert f"close_package/close_package_main_{PERIOD}.html" in links and "manifest.json" in links
        for name, path in files.items():
            assert isinstance(links[name], dg.UrlMetadataValue)
            response = requests.get(links[name].url, timeout=30)
            assert response.status_code == 200
            assert hashlib.sha256(response.content).hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()
        assert requests.get(f"{base}/main/{PERIOD}/", timeout=30).status_code == 404, "no directory listings"
        assert requests.get(f"{base}/../warehouse.duckdb", timeout=30).status_code == 404

    assert metadata["Proven"].startswith(f"Yes: all {len(blocking_checks())} blocking proofs passed on the ledger as last built (latest ")
    assert metadata["Locked"] == (
        f"Yes: locked by controller@example.com on {lock.locked_at:%Y-%m-%d %H:%M} UTC, {lock.journal_lines:,} journal lines frozen"
    )
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        matched = connection.execute(
            "select currency, count(distinct payout_id), cast(sum(amount_minor) as bigint) from main.fct_payout_bank_matches "
            "where strftime(arrival_date, '%Y-%m') = ? group by all", [PERIOD],
        ).fetchall()
    assert {currency for currency, *_ in matched} == {"usd", "eur", "jpy"}
    for currency, payouts, amount in matched:
        line = metadata[f"Bank {currency.upper()}"]
        assert line.startswith(f"{payouts:,} payout{'s' if payouts != 1 else ''} matched ({major(amount, currency)})"), line
        assert "_minor" not in line
    assert "NOT performed" not in metadata["Reconciled with the bank"]
    assert "| passed |" in metadata["Blocking proofs"] and "FAILED" not in metadata["Blocking proofs"]


def test_on_an_instance_that_never_ran_the_proofs_nothing_reads_as_proven(closed_small_world, locked_copy, monkeypatch):
    warehouse, _ = locked_copy
    monkeypatch.delenv(DOWNLOAD_BASE_VARIABLE, raising=False)
    with dg.DagsterInstance.ephemeral() as fresh:
        metadata = materialize(warehouse, closed_small_world.settings.export_dir, fresh)
    count = len(blocking_checks())
    assert metadata["Proven"].startswith(f"NOT EVALUATED: {count} blocking proofs of {count} not evaluated on the ledger as it is (")
    assert "passed" not in metadata["Proven"]
    files = [path for path in (closed_small_world.settings.export_dir / "main" / PERIOD).rglob("*") if path.is_file() and not path.name.startswith(".")]
    assert metadata["Downloads"] == (
        f"{len(files)} files written, not served: set CLOSE_DOWNLOAD_BASE_URL to the URL the exports folder is served at (stripe-close ui serves it)"
    )
    assert all(isinstance(value, dg.PathMetadataValue) for key, value in metadata["_raw"].items() if key.startswith("Download "))


def test_a_period_locked_from_the_cli_reads_proven_by_its_locks_own_proof_run(closed_small_world, tmp_path, monkeypatch):
    """`stripe-close close` runs the proofs itself, outside Dagster, and freezes them with the close
    package: the status answers with that run, as the package does, not with the instance's record
    (here none: the CLI's proofs never reached it), and names the warning the lock ran with."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(closed_small_world.settings.warehouse, warehouse)
    warned = "Got 1 result, configured to warn if != 0"
    lock = lock_with_packages(warehouse, PERIOD, "main", "controller@example.com", proofs=proofs_at_lock({"snapshot_covers_ledger": warned}))
    monkeypatch.delenv(DOWNLOAD_BASE_VARIABLE, raising=False)
    with dg.DagsterInstance.ephemeral() as fresh:
        metadata = materialize(warehouse, closed_small_world.settings.export_dir, fresh)
    count = len(blocking_checks())
    assert metadata["Proven"] == (
        f"Yes: all {count} blocking proofs passed when {PERIOD} was locked by controller@example.com on {lock.locked_at:%Y-%m-%d %H:%M} UTC "
        f"(the lock's own proof run, frozen with its close package); but snapshot_covers_ledger: {warned}"
    )
    table = metadata["Blocking proofs"].splitlines()
    assert len(table) == 2 + count and not any("| not evaluated" in row or "FAILED" in row for row in table)
    assert sum(f"| {lock.locked_at:%Y-%m-%d %H:%M} UTC, at the lock |" in row for row in table) == count
    [snapshot_row] = [row for row in table if row.startswith("| snapshot_covers_ledger (")]
    assert f"| warning: {warned} |" in snapshot_row


def status_without_statements(currency: str) -> PeriodStatus:
    return PeriodStatus(
        PERIOD, [], {}, None, None, BankCoverage((currency,), (currency,)), (), (), {}, [], "",
    )


def test_a_currency_without_statements_reads_not_performed_never_zero_matched():
    status = status_without_statements("usd")
    assert currency_reconciliation(status, "usd") == "bank reconciliation NOT performed: no statements for USD"
    assert reconciled_text(status) == "bank reconciliation NOT performed: no statements for USD"
    metadata = status_metadata(status)
    assert metadata["Bank USD"] == "bank reconciliation NOT performed: no statements for USD"
    assert metadata["Proven"] == "NOT EVALUATED: the code location declares no blocking proof"
    assert metadata["Locked"] == f"No: {PERIOD} is open (lock it with period_close_job or stripe-close close --period {PERIOD})"
    assert metadata["Downloads"].startswith(f"none yet: run period_export_job for {PERIOD}")


def test_open_items_are_counted_in_words_payouts_and_bank_lines_apart():
    standings = (
        PayoutStanding("po_1", "usd", "matched", 10_000, 0), PayoutStanding("po_2", "usd", "payout_in_transit", 2_500, 0),
        PayoutStanding("po_3", "usd", "returned", 1_000, 0), PayoutStanding("po_4", "jpy", "payout_overdue", 1_234, 0),
    )
    lines = (ReconciliationLine("usd", "unmatched_bank_line", 3, 999, 0),)
    status = PeriodStatus(PERIOD, [], {}, None, None, BankCoverage(("jpy", "usd"), ()), lines, standings, {"po_4": 4}, [], "")
    assert reconciled_text(status) == (
        "Not yet: 1 payout in transit; 1 payout unmatched; 1 payout returned by the bank; 3 bank lines without a payout to review (per currency below)"
    )
    assert currency_reconciliation(status, "jpy") == "0 payouts matched (JPY 0); 1 payout unmatched (JPY 1,234), the oldest 4 business days overdue"
    assert currency_reconciliation(status, "usd") == (
        "1 payout matched (USD 100.00); 1 payout in transit (USD 25.00); 1 payout returned by the bank (USD 10.00); 3 bank lines without a payout (USD 9.99)"
    )


def test_the_status_is_monthly_and_downstream_of_the_package_and_exports():
    assert close_status.partitions_def == monthly_partitions
    assert {key.to_user_string() for key in close_status.dependency_keys} == {"close_package", "netsuite_journal_csv", "sap_journal_files", "accountant_journal"}
