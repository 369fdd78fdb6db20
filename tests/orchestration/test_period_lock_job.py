"""period_close_job proves the ledger as it is now before it freezes a month, and its close packages with it."""

import hashlib
from pathlib import Path

import duckdb
import pytest
from lxml import html as lxml_html

from exporters.close_package.package import build_close_packages
from exporters.publish import Destination
from ledger import period_close
from orchestration.defs.close.jobs import period_close_job
from orchestration.defs.export.guard import blocking_checks
from orchestration.defs.resources import ExportResource, WarehouseResource
from tests.dbt.builders import build, copy_ledger, small_world_ledger

PAYOUT_PROOF = "payouts_equal_their_transactions"


def lock(path, period, allow_empty=False):
    config = {"period": period, "action": "lock", "actor": "test", "allow_empty": allow_empty}
    return period_close_job.execute_in_process(
        run_config={"ops": {"lock_or_reopen_period": {"config": config}}},
        resources={"warehouse": WarehouseResource(path=str(path)), "exports": ExportResource(directory=str(path.parent / "exports"), entity_id="main")},
        raise_on_error=False,
    )


def first_period_and_lines(path):
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute("select period, count(*) from main.fct_journal_lines group by period order by period limit 1").fetchone()


@pytest.fixture(scope="module")
def locked(tmp_path_factory):
    """A copy of the small world's ledger with its first period locked by the job: (path, period, lines, the run).
    Read-only: the lock proves the whole ledger, once for the tests that read it."""
    path = copy_ledger(small_world_ledger(), tmp_path_factory.mktemp("locked"))
    period, lines = first_period_and_lines(path)
    return path, period, lines, lock(path, period)


def test_a_proven_ledger_is_locked_with_its_lines(locked):
    path, period, lines, result = locked
    assert result.success
    assert result.output_for_node("lock_or_reopen_period") == {"period": period, "action": "lock", "journal_lines": lines, "close_packages": ["main"]}
    assert period_close.locked_periods(path) == [period]
    with duckdb.connect(str(path), read_only=True) as connection:
        assert connection.execute("select locked_period, entity_id, frozen_at_lock from close.locked_close_packages").fetchall() == [(period, "main", True)]


def test_a_ledger_changed_since_its_proofs_is_not_locked_and_the_failing_proof_is_named(tmp_path):
    path = copy_ledger(small_world_ledger(), tmp_path)
    period, _ = first_period_and_lines(path)
    with duckdb.connect(str(path)) as connection:
        # A payout loses one of its transactions after the last build's checks passed.
        connection.execute("delete from raw.stripe_payout_transactions_landed where balance_transaction_id = "
                           "(select min(balance_transaction_id) from raw.stripe_payout_transactions_landed)")
    result = lock(path, period)
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.error.message
    assert f"{period} was NOT locked" in message and PAYOUT_PROOF in message
    assert period_close.locked_periods(path) == []


def test_an_empty_period_is_locked_only_when_the_run_config_allows_it(tmp_path):
    path = copy_ledger(small_world_ledger(), tmp_path)
    refused = lock(path, "2026-09")
    assert not refused.success
    [failure] = [event for event in refused.all_events if event.is_step_failure]
    assert "period 2026-09 has no journal lines: nothing was locked" in failure.event_specific_data.error.message
    assert period_close.locked_periods(path) == []

    allowed = lock(path, "2026-09", allow_empty=True)
    assert allowed.success
    # Before the ledger's first period: no entity has a package to freeze.
    assert allowed.output_for_node("lock_or_reopen_period") == {"period": "2026-09", "action": "lock", "journal_lines": 0, "close_packages": []}
    assert period_close.locked_periods(path) == ["2026-09"]


def test_a_locked_package_shows_the_proofs_of_the_lock_at_its_time_ever_after(locked, tmp_path):
    """The job's instance holds no check result (nothing evaluated there): the frozen package shows
    the proofs the lock ran itself, each passed at the lock's time, and keeps them through later builds."""
    path, period, _, result = locked
    assert result.success
    path = copy_ledger(path, tmp_path / "ledger")  # built again below
    [lock_state] = period_close.lock_states(path)
    at = lock_state.locked_at.replace(microsecond=0)

    def package(folder: Path) -> tuple[dict, str, str]:
        [built] = build_close_packages(path, Destination(directory=folder), [period], "main")
        rows = lxml_html.fromstring(Path(built.html.location).read_bytes()).xpath("//table[@id='proofs']/tbody/tr")
        shown = {row.get("data-proof"): (row.get("data-result"), row.xpath("string(td[3])")) for row in rows}
        digests = tuple(hashlib.sha256(Path(file.location).read_bytes()).hexdigest() for file in (built.html, built.workbook))
        return shown, *digests

    shown, html, workbook = package(tmp_path / "at-lock")
    # The small world has a Stripe balance snapshot: no proof warns, every one passed.
    assert shown == {f"{key.asset_key.to_user_string()}:{key.name}": ("passed", f"{at:%Y-%m-%d %H:%M:%S}") for key in blocking_checks()}
    assert "fct_journal_lines:journal_balances" in shown and "fct_journal_line_sources:sales_split_ties_to_gross" in shown and len(shown) == 27
    build(path)
    assert package(tmp_path / "after-a-build") == (shown, html, workbook)
