"""A locked period's close package is write-once: built at the lock from the figures frozen with it,
byte for byte the same after late facts; the late facts show in the next open period's package as
adjustments citing the original entry and date; a reopening unfreezes it.

One copy of the small world's dbt-built ledger: October locked (journal and packages frozen in one
transaction), then a charge of 2026-10-07 arrives late and an EUR payout paid on its arrival date
fails three days later, and the ledger is built again (real dbt on a real DuckDB file).
"""

import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import openpyxl
import pytest
from lxml import html as lxml_html

from exporters.close_package.adjustments import ADJUSTMENTS_SHEET, LockedPeriodAdjustment
from exporters.close_package.close_data import load_close_data
from exporters.close_package.frozen import lock_with_packages
from exporters.close_package.frozen_data import FrozenDataError, decode, encode
from exporters.close_package.package import build_close_packages
from exporters.publish import Destination
from ledger import period_close
from orchestration.cli import main
from orchestration.defs.reporting.assets import close_package
from orchestration.defs.resources import ExportResource, WarehouseResource
from tests.dbt.builders import build, copy_ledger, land, payout, project_copy, query, small_world_ledger, transaction, ts

OCTOBER, NOVEMBER = "2026-10", "2026-11"
LATE_CHARGE = transaction("txn_late_october", "charge", "charge", 12_345, 388, created=ts("2026-10-07", 9))
FAILURE = "txn_late_payout_failure"


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def package_files(path: Path, folder: Path, period: str) -> dict:
    """The period's package of `main`, built into `folder`: the package and each file's sha256."""
    [package] = build_close_packages(path, Destination(directory=folder), [period], "main")
    return {"package": package, "html": sha256(package.html.location), "xlsx": sha256(package.workbook.location)}


def frozen_rows(path: Path) -> list[tuple]:
    return query(path, "select locked_period, entity_id, frozen_at_lock from close.locked_close_packages order by all")


def paid_eur_payout(path: Path) -> tuple:
    """The first EUR payout Stripe reports paid, with its amount and dates."""
    return query(path, """
        select payout_id, amount_minor, created_at, arrival_date, balance_transaction_id from main.stg_stripe__payouts
        where currency = 'eur' and payout_status = 'paid' and is_automatic order by arrival_date, payout_id limit 1""")[0]


def land_late_facts(path: Path) -> dict:
    """The late charge, and the EUR payout failing after it was paid; Stripe's balance moves with both."""
    payout_id, amount, created_at, arrival, payout_transaction = paid_eur_payout(path)
    failed_on = arrival + timedelta(days=3)
    failure = transaction(FAILURE, "payout_failure", "payout_reversal", amount, currency="eur", created=ts(failed_on.isoformat(), 15))
    failed = payout(payout_id, amount, "failed", arrival.isoformat(), payout_transaction, currency="eur",
                    created=int(created_at.replace(tzinfo=timezone.utc).timestamp()), failure_balance_transaction=FAILURE)
    moves = {"usd": LATE_CHARGE["net"], "eur": amount}
    balance = query(path, "select currency, balance_minor from main.stg_stripe__balance_snapshots")
    land(path, [LATE_CHARGE, failure], [failed], balance={
        "available": [{"currency": currency, "amount": minor + moves.get(currency, 0)} for currency, minor in balance], "pending": [],
    }, as_of=query(path, "select max(as_of_at) from main.stg_stripe__balance_snapshots")[0][0])
    return {"payout_id": payout_id, "amount": amount, "failed_on": failed_on}


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    """October locked with its packages and served from its frozen lines, its package built; then the late facts."""
    directory = tmp_path_factory.mktemp("frozen")
    path = copy_ledger(small_world_ledger(), directory)
    lock = lock_with_packages(path, OCTOBER, "main", actor="controller")
    build(path)
    at_lock = package_files(path, directory / "at-lock", OCTOBER)
    at_lock_marts = load_close_data(path, OCTOBER, "main", generated_at=lock.locked_at.replace(microsecond=0))
    late = land_late_facts(path)
    build(path)
    return {"path": path, "directory": directory, "lock": lock, "at_lock": at_lock, "at_lock_marts": at_lock_marts, "late": late}


def euro_ending_balance(data) -> int:
    return next(figures.stripe_ending_balance_minor for figures in data.headline() if figures.currency == "eur")


def test_the_lock_freezes_every_entitys_package_in_the_same_transaction(closed):
    assert closed["lock"].frozen_packages == ("main",)
    assert frozen_rows(closed["path"]) == [(OCTOBER, "main", True)]


def test_a_locked_periods_package_is_byte_identical_after_late_facts(closed, tmp_path):
    path, at_lock, late = closed["path"], closed["at_lock"], closed["late"]
    after = package_files(path, tmp_path, OCTOBER)
    assert (after["html"], after["xlsx"]) == (at_lock["html"], at_lock["xlsx"])
    # The marts did change: built from them, October's EUR ending balance would carry the failed payout.
    [now] = load_close_data(path, OCTOBER, "main", generated_at=closed["lock"].locked_at.replace(microsecond=0))
    [then] = closed["at_lock_marts"]
    assert euro_ending_balance(now) == euro_ending_balance(then) + late["amount"]
    assert after["package"].data == then
    assert after["package"].frozen.describe().startswith(f"{OCTOBER} is locked (by controller at ")


def test_the_next_periods_package_lists_the_adjustments_with_their_original_dates(closed, tmp_path):
    path, late = closed["path"], closed["late"]
    november = package_files(path, tmp_path, NOVEMBER)["package"]
    charge = ("2026-10", "2026-10-07", "STRIPE-main-20261007-USD", "txn_late_october", "USD")
    failed_on = late["failed_on"].isoformat()
    euro_entry = f"STRIPE-main-{failed_on.replace('-', '')}-EUR"
    failure = ("2026-10", failed_on, euro_entry, FAILURE, "EUR")
    returned = ("2026-10", failed_on, euro_entry, late["payout_id"], "EUR")
    arrived = "arrived after 2026-10 was locked"
    expected = [
        (*charge, "1010", "Stripe Clearing", 11_957, f"charge {arrived}"),
        (*charge, "4000", "Revenue", -12_345, f"charge {arrived}"),
        (*charge, "6000", "Stripe Processing Fees", 388, f"charge {arrived}"),
        (*failure, "1010", "Stripe Clearing", late["amount"], f"payout failure {arrived}"),
        (*failure, "1030", "Cash in Transit", -late["amount"], f"payout failure {arrived}"),
        (*returned, "1000", "Operating Bank", -late["amount"], "payout failed after it was paid: returned by the bank"),
        (*returned, "1030", "Cash in Transit", late["amount"], "payout failed after it was paid: returned by the bank"),
    ]
    assert [(a.original_period, a.original_date.isoformat(), a.original_entry_id, a.source_id, a.currency.upper(), a.account_code,
             a.account_name, a.amount_minor, a.reason) for a in november.data.adjustments] == expected

    document = lxml_html.fromstring(Path(november.html.location).read_bytes())
    rows = [[cell.text_content().strip() for cell in row.xpath("td")] for row in document.xpath("//table[@id='adjustments']/tbody/tr")]
    assert rows[0] == ["2026-10", "2026-10-07", "STRIPE-main-20261007-USD", "txn_late_october", "1010 Stripe Clearing", "USD", "119.57",
                       f"charge {arrived}"]
    euros = f"{Decimal(late['amount']).scaleb(-2):,.2f}"
    assert [row[6] for row in rows] == ["119.57", "-123.45", "3.88", euros, f"-{euros}", f"-{euros}", euros]

    sheet = openpyxl.load_workbook(november.workbook.location)[ADJUSTMENTS_SHEET]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == ["Original period", "Original date", "Original entry", "Source", "Account", "Account name", "Currency",
                         "Amount (debit +)", "Reason"]
    assert [(row[3], row[4], Decimal(str(row[7]))) for row in values[1:]] == [
        (source, account, Decimal(amount).scaleb(-2)) for _, _, _, source, _, account, _, amount, _ in expected]


def test_a_fact_booked_differently_since_the_lock_says_so(closed, tmp_path):
    """The accountant books disputed amounts straight to chargeback losses (6100) instead of disputes
    receivable (1200) after October was locked: each October dispute is moved between the accounts in
    November, citing it as booked differently. (Disputes: the sales split, which books charges and
    refunds from their invoices, does not read the mapping rules for them.)"""
    path = copy_ledger(closed["path"], tmp_path / "remapped")
    project = project_copy(tmp_path / "dbt_project")
    rules = project / "seeds" / "gl_mapping_rules.csv"
    rules.write_text(rules.read_text().replace("reporting_category,dispute,,,1200,", "reporting_category,dispute,,,6100,"))
    build(path, project_dir=project)
    [november] = load_close_data(path, NOVEMBER, "main", generated_at=datetime(2026, 12, 1))
    disputes = query(path, """
        select balance_transaction_id, amount_minor from main.stg_stripe__balance_transactions
        where reporting_category = 'dispute' and strftime(created_at, '%Y-%m') = '2026-10' order by 1""")
    assert disputes
    moved = sorted((item.source_id, item.account_code, item.amount_minor, item.reason) for item in november.adjustments if item.source_id.startswith("txn_")
                   and item.source_id not in ("txn_late_october", FAILURE))
    because = "adjustment booked differently since 2026-10 was locked"  # a dispute is Stripe type `adjustment`
    # A dispute's gross (negative) books negated: a debit to 1200 before, to 6100 now.
    assert moved == sorted(row for dispute, amount in disputes for row in ((dispute, "6100", -amount, because), (dispute, "1200", amount, because)))


def test_the_frozen_figures_read_back_equal_and_what_cannot_be_frozen_is_refused(closed):
    data = closed["at_lock"]["package"].data
    assert decode(encode(data)) == data
    adjustment = LockedPeriodAdjustment("2026-10", date(2026, 10, 7), "STRIPE-main-20261007-USD", "txn_late", "1010", "Stripe Clearing", "usd",
                                        -5, "charge arrived after 2026-10 was locked")
    varied = dataclasses.replace(data, as_of_date=None, adjustments=(adjustment,))
    assert decode(encode(varied)) == varied
    with pytest.raises(FrozenDataError, match="cannot freeze a frozenset"):
        encode(dataclasses.replace(data, payouts=frozenset()))
    # A datetime where the annotation says date would not read back as it was: refused when freezing.
    with pytest.raises(FrozenDataError):
        encode(dataclasses.replace(data, as_of_date=datetime(2026, 10, 13, 12)))
    other_layout = {**json.loads(encode(data)), "signed_by": "cfo"}
    del other_layout["period"]
    with pytest.raises(FrozenDataError) as refused:
        decode(json.dumps(other_layout))
    assert str(refused.value) == "CloseData was frozen with another layout of CloseData: fields no longer known: signed_by; fields missing: period"


def test_a_period_without_adjustments_says_none(closed):
    package = closed["at_lock"]["package"]
    assert package.data.adjustments == ()
    document = lxml_html.fromstring(Path(package.html.location).read_bytes())
    [row] = document.xpath("//table[@id='adjustments']/tbody/tr")
    assert row.text_content().strip() == "None: no late or changed facts of a locked period were posted to 2026-10."
    sheet = openpyxl.load_workbook(package.workbook.location)[ADJUSTMENTS_SHEET]
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["None: no late or changed facts of a locked period were posted to 2026-10."]


def test_reopening_unfreezes_the_package_and_the_rebuild_changes_it(closed, tmp_path):
    path = copy_ledger(closed["path"], tmp_path / "reopened")
    period_close.reopen_period(path, OCTOBER, "late payout failure", actor="cfo")
    assert frozen_rows(path) == []
    build(path)
    rebuilt = package_files(path, tmp_path / "package", OCTOBER)
    assert rebuilt["html"] != closed["at_lock"]["html"] and rebuilt["xlsx"] != closed["at_lock"]["xlsx"]
    assert rebuilt["package"].frozen is None
    assert euro_ending_balance(rebuilt["package"].data) == euro_ending_balance(closed["at_lock"]["package"].data) + closed["late"]["amount"]


def test_a_crash_between_freezing_the_packages_and_the_lock_leaves_neither(tmp_path):
    path = copy_ledger(small_world_ledger(), tmp_path)
    killed = subprocess.run(
        [sys.executable, "-c", f"from exporters.close_package.frozen import lock_with_packages; lock_with_packages({str(path)!r}, {OCTOBER!r}, 'main')"],
        env={**os.environ, "CLOSE_FAILPOINT": "period.lock"}, capture_output=True, text=True, timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert period_close.locked_periods(path) == [] and period_close.period_events(path) == []
    assert frozen_rows(path) == []
    with duckdb.connect(str(path), read_only=True) as connection:
        assert connection.execute("select count(*) from close.locked_journal_lines").fetchone() == (0,)
    # Unkilled, the same lock takes both.
    assert lock_with_packages(path, OCTOBER, "main").frozen_packages == ("main",)
    assert period_close.locked_periods(path) == [OCTOBER] and frozen_rows(path) == [(OCTOBER, "main", True)]


def test_a_period_locked_before_packages_were_frozen_is_frozen_at_its_first_build(closed, tmp_path, monkeypatch, capsys):
    """A lock taken without its package (by an earlier version): the first build says so in one line
    and freezes the package as it builds it; later builds read that copy."""
    path = copy_ledger(closed["path"], tmp_path / "legacy")
    with duckdb.connect(str(path)) as connection:
        connection.execute("delete from close.locked_close_packages")
    monkeypatch.setenv("CLOSE_WAREHOUSE", str(path))
    monkeypatch.setenv("CLOSE_EXPORT_DIR", str(tmp_path / "exports"))
    assert main(["package", "--period", OCTOBER]) == 0
    first = capsys.readouterr().out
    notice = (f"{OCTOBER} was locked (by controller at {closed['lock'].locked_at:%Y-%m-%d %H:%M:%S} UTC) before close packages were "
              "frozen at lock: main's package is frozen now, as the ledger stands at this build (its journal is the locked one; "
              "the roll-forward and the bank reconciliation include what arrived since the lock)")
    assert notice in first
    assert frozen_rows(path) == [(OCTOBER, "main", False)]
    files = sorted((tmp_path / "exports" / "main" / OCTOBER / "close_package").glob("close_package_*"))
    hashes = [sha256(file) for file in files]

    assert main(["package", "--period", OCTOBER]) == 0
    second = capsys.readouterr().out
    assert "frozen now" not in second
    assert f"{OCTOBER} is locked (by controller at {closed['lock'].locked_at:%Y-%m-%d %H:%M:%S} UTC): main's package is the copy frozen at its first build on " in second
    assert [sha256(file) for file in files] == hashes


def test_the_cli_says_a_locked_periods_package_comes_from_the_lock(closed, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CLOSE_WAREHOUSE", str(copy_ledger(closed["path"], tmp_path / "cli")))
    monkeypatch.setenv("CLOSE_EXPORT_DIR", str(tmp_path / "exports"))
    assert main(["package", "--period", OCTOBER]) == 0
    out = capsys.readouterr().out
    locked_at = closed["lock"].locked_at
    assert (f"  {OCTOBER} is locked (by controller at {locked_at:%Y-%m-%d %H:%M:%S} UTC): main's package is built from the figures "
            f"frozen at the lock; later facts show as adjustments in the next open period") in out
    assert sha256(tmp_path / "exports" / "main" / OCTOBER / "close_package" / f"close_package_main_{OCTOBER}.html") == closed["at_lock"]["html"]


def test_a_frozen_copy_of_another_layout_is_refused_in_one_line(closed, tmp_path, monkeypatch, capsys):
    path = copy_ledger(closed["path"], tmp_path / "layout")
    with duckdb.connect(str(path)) as connection:
        [(text,)] = connection.execute("select close_data from close.locked_close_packages").fetchall()
        connection.execute("update close.locked_close_packages set close_data = ?", [json.dumps({**json.loads(text), "signed_by": "cfo"})])
    monkeypatch.setenv("CLOSE_WAREHOUSE", str(path))
    monkeypatch.setenv("CLOSE_EXPORT_DIR", str(tmp_path / "exports"))
    assert main(["package", "--period", OCTOBER]) == 2
    assert capsys.readouterr().err == (
        f"the close package of main {OCTOBER} frozen for its lock cannot be read by this version: CloseData was frozen with another "
        "layout of CloseData: fields no longer known: signed_by; build it with the version that locked the period, or reopen the "
        "period and lock it again\n")
    assert not (tmp_path / "exports").exists()


def test_a_materialization_of_a_locked_month_links_the_files_of_the_lock_and_says_so(closed, tmp_path, monkeypatch):
    monkeypatch.delenv("CLOSE_EXPORT_S3_URI", raising=False)
    result = dg.materialize(
        [close_package], partition_key=OCTOBER, instance=dg.DagsterInstance.ephemeral(),
        resources={"warehouse": WarehouseResource(path=str(closed["path"])), "exports": ExportResource(directory=str(tmp_path))},
    )
    [materialization] = result.asset_materializations_for_node("close_package")
    metadata = materialization.metadata
    assert metadata["main locked"].value == closed["at_lock"]["package"].frozen.describe()
    assert (sha256(metadata["main html"].path), sha256(metadata["main workbook"].path)) == (closed["at_lock"]["html"], closed["at_lock"]["xlsx"])
