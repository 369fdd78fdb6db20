"""The close package as a Dagster asset: a real materialization of a monthly partition writes the
files and links them, with headline figures equal to the marts'."""

from pathlib import Path

import dagster as dg
import duckdb
import pytest
from lxml import html as lxml_html

from orchestration.defs.export.guard import blocking_checks
from orchestration.defs.reporting.assets import close_package
from orchestration.defs.resources import ExportResource, WarehouseResource
from orchestration.partitions import monthly_partitions
from tests.exporters.close_package.conftest import PERIOD

pytestmark = pytest.mark.e2e


def materialize(closed, exports: Path, period: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [close_package],
        partition_key=period,
        resources={"warehouse": WarehouseResource(path=str(closed.settings.warehouse)), "exports": ExportResource(directory=str(exports))},
        instance=closed.instance,
        raise_on_error=False,
    )


def test_a_materialization_writes_the_files_and_links_them(closed, tmp_path, monkeypatch):
    monkeypatch.delenv("CLOSE_EXPORT_S3_URI", raising=False)
    result = materialize(closed, tmp_path, PERIOD)

    assert result.success
    [materialization] = result.asset_materializations_for_node("close_package")
    assert materialization.partition == PERIOD
    metadata = materialization.metadata
    folder = tmp_path / "main" / PERIOD / "close_package"
    assert metadata["entities"].value == ["main"]
    assert isinstance(metadata["main html"], dg.PathMetadataValue) and metadata["main html"].path == str(folder / f"close_package_main_{PERIOD}.html")
    assert metadata["main workbook"].path == str(folder / f"close_package_main_{PERIOD}.xlsx")
    assert Path(metadata["main html"].path).read_bytes().startswith(b"<!DOCTYPE html>") and Path(metadata["main workbook"].path).stat().st_size > 0
    with duckdb.connect(str(closed.settings.warehouse), read_only=True) as connection:
        ending = dict(connection.execute(
            f"select currency, net_amount_minor from main.rpt_stripe_balance_rollforward where period = '{PERIOD}' and category = 'ending_balance'"
        ).fetchall())
        matched = dict(connection.execute("select currency, count(distinct payout_id) from main.fct_payout_bank_matches group by all").fetchall())
        (exceptions,) = connection.execute("select count(*) from main.fct_reconciliation_exceptions").fetchone()
    assert {currency: metadata[f"main {currency}_stripe_ending_balance_minor"].value for currency in ending} == ending
    assert {currency: metadata[f"main {currency}_payouts_matched"].value for currency in matched} == matched
    assert isinstance(metadata["main jpy_stripe_ending_balance_minor"], dg.IntMetadataValue)
    assert metadata["main exceptions"].value == exceptions
    assert f"| main | {PERIOD} | JPY |" in metadata["headline"].value
    # The status block reads the proofs recorded on the run's instance and names the run.
    page = lxml_html.fromstring(Path(metadata["main html"].path).read_bytes())
    assert {row.get("data-result") for row in page.xpath("//table[@id='proofs']/tbody/tr")} <= {"passed", "warning"}
    assert len(page.xpath("//table[@id='proofs']/tbody/tr[@data-proof]")) == len(blocking_checks())
    assert page.xpath("//tr[@data-item='dagster-run']/td")[0].text_content() == result.run_id


def test_a_month_before_the_ledger_fails_with_the_reason(closed, tmp_path):
    result = materialize(closed, tmp_path, "2026-09")
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert "no journal lines for any entity through period 2026-09" in failure.event_specific_data.error.message
    assert not (tmp_path / "main").exists()


def test_the_asset_is_monthly_in_the_close_group():
    assert close_package.partitions_def == monthly_partitions
    spec = next(iter(close_package.specs))
    assert (spec.group_name, spec.kinds) == ("6_close_package", {"html", "excel"})
    assert {key.to_user_string() for key in close_package.dependency_keys} >= {"rpt_trial_balance", "rpt_stripe_balance_rollforward", "fct_reconciliation_exceptions"}
