"""The close in the Dagster UI, as a finance person sees it: headless Chromium against `dagster dev`.

The webserver and daemon run on a fresh embedded instance (the project's dagster.yaml), wired to a
sandbox Stripe API whose simulated days end yesterday. `stripe-close ingest` lands that history
first (no Dagster run, so it is quick), so the balance proofs hold; the UI then materializes one
partition, the latest day, of `ledger_close_job` (ingestion, the ledger, its proofs), picked in
the launch dialog. Screenshots are kept in test-artifacts/browser/.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import requests
from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from orchestration.instance import INSTANCE_CONFIG, PROJECT_ROOT
from sandbox.merchant import WorldSpec, simulate
from sandbox.stripe_api import SandboxStripeServer

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
API_KEY = "sk_test_browser_stripe_close"
RUN_TIMEOUT_S = 600


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install -y chromium)")
    workdir = tmp_path_factory.mktemp("ui")
    home = workdir / "dagster_home"
    home.mkdir()
    shutil.copyfile(INSTANCE_CONFIG, home / "dagster.yaml")
    spec = WorldSpec(seed=5, start=date.today() - timedelta(days=12), days=12, transactions_per_day=15)
    port = free_port()
    with SandboxStripeServer(simulate(spec), API_KEY) as stripe_api:
        environment = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "CLOSE_WAREHOUSE": str(workdir / "warehouse.duckdb"),
            "CLOSE_EXPORT_DIR": str(workdir / "exports"),
            "STRIPE_API_KEY": API_KEY,
            "STRIPE_API_BASE": stripe_api.url,
            "CLOSE_SOURCE": "sandbox",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        history = [sys.executable, "-m", "orchestration.cli", "ingest", "--start", spec.start.isoformat()]
        subprocess.run(history, cwd=PROJECT_ROOT, env=environment, check=True, capture_output=True, timeout=300)
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster")), "dev", "-m", "orchestration.definitions", "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=(workdir / "dagster.log").open("w"),
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    if requests.get(f"{base}/server_info", timeout=2).ok:
                        break
                except requests.ConnectionError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"dagster dev did not come up:\n{(workdir / 'dagster.log').read_text()[-3000:]}")
                time.sleep(1)
            yield base, workdir
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def page(dagster_ui):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(30_000)
        yield page
        browser.close()


def dismiss_welcome(page: Page) -> None:
    """A fresh instance greets the first visitor with a newsletter dialog, a moment after the page loads."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=15_000)
    except PlaywrightTimeoutError:
        return
    skip.click()
    expect(skip).to_be_hidden()


def test_materialize_the_close_from_the_ui_and_see_the_proofs(dagster_ui, page):
    base, workdir = dagster_ui
    page.goto(f"{base}/asset-groups")
    dismiss_welcome(page)
    for group in ("ingest", "staging", "ledger", "export", "accounting_config"):
        expect(page.get_by_text(group, exact=True).first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "1-asset-graph.png")

    page.goto(f"{base}/locations/orchestration.definitions/jobs/ledger_close_job")
    page.get_by_role("button", name="Materialize all").first.click()
    # The bank and close tables upstream are not materialized on a fresh instance; the ledger run
    # creates what it reads, so the warning is confirmed.
    expect(page.get_by_text("upstream assets listed below have not been materialized yet")).to_be_visible()
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Launch runs to materialize").first).to_be_visible()
    # One day, not the whole calendar: the latest partition (today) in the launch dialog.
    dialog = page.get_by_role("dialog").last
    page.screenshot(path=ARTIFACTS / "2-launch-dialog.png")
    dialog.get_by_role("button", name="Latest", exact=True).first.click()
    launch = dialog.get_by_role("button", name="Launch 1 run")
    expect(launch).to_be_visible()
    page.screenshot(path=ARTIFACTS / "2-launch-one-partition.png")
    launch.click()
    # The job page names its latest run once the launch went through (a fresh instance has none).
    expect(page.get_by_text("Latest run:")).to_be_visible(timeout=60_000)

    page.goto(f"{base}/runs")
    expect(page.get_by_text("ledger_close_job").first).to_be_visible()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not page.get_by_text("Success", exact=True).count():
        assert not page.get_by_text("Failure", exact=True).count(), f"the run failed: {(workdir / 'dagster.log').read_text()[-3000:]}"
        assert time.monotonic() < deadline, "the run did not finish in time"
        page.wait_for_timeout(3_000)
        page.reload()
    page.screenshot(path=ARTIFACTS / "3-run-succeeded.png")

    page.goto(f"{base}/assets/fct_journal_lines?view=checks")
    for check in ("assert_journal_entries_balance", "unique_fct_jour"):
        expect(page.get_by_text(check).first).to_be_visible()
    expect(page.get_by_text("Passed").first).to_be_visible()
    assert page.get_by_text("Succeeded").count() >= 5
    assert not page.get_by_text("Failed", exact=True).count()
    page.screenshot(path=ARTIFACTS / "4-checks.png")

    # What the UI launched really happened: today's partition, and a ledger of balanced entries.
    previous_home = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(workdir / "dagster_home")
    try:
        with dg.DagsterInstance.get() as instance:
            assert instance.get_materialized_partitions(dg.AssetKey("fct_journal_lines")) == {date.today().isoformat()}
    finally:
        os.environ.pop("DAGSTER_HOME") if previous_home is None else os.environ.update(DAGSTER_HOME=previous_home)
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as connection:
        entries, imbalance = connection.execute(
            "select count(distinct journal_entry_id), sum(abs(total)) from "
            "(select journal_entry_id, sum(amount_minor) as total from main.fct_journal_lines group by all)"
        ).fetchone()
    assert entries > 0 and imbalance == 0
