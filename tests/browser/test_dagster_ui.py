"""The close in the Dagster UI, as a finance person sees it: headless Chromium against `dagster dev`.

The webserver and daemon run on a copy of the suite's close of the KWD world (tests/conftest.py:
closed_kwd_world): its warehouse, its exports and close packages, and its embedded instance on disk
(the project's dagster.yaml) holding the close's runs and proofs as `stripe-close run` records them,
with the sandbox's bank statements in the inbox. While `dagster dev` starts, `stripe-close close`
locks the world's month in the copy (the lock does not touch the instance). The UI then launches
one run: the period status of that month, picked in the launch dialog, which reads proven / locked
/ reconciled in words and links every file, served over http by the download server as
`stripe-close ui` serves it. Screenshots go to test-artifacts/browser/.

Every wait is on a state (the server answers, the run succeeded, a check is rendered) with a
generous ceiling: the machine may be busy.
"""

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from orchestration.download_server import serve_downloads
from orchestration.instance import PROJECT_ROOT
from orchestration.ui_session import stop_group, wait_until_serving
from sandbox.stripe_api import SandboxStripeServer
from tests.conftest import API_KEY

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
# Ceilings, not waits: each wait ends as soon as its state is reached.
SERVER_CEILING_MS = 300_000
RUN_CEILING_MS = 600_000
RENDER_CEILING_MS = 120_000
CONTROLLER = "controller@example.com"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def dagster_ui(kwd_world, closed_kwd_world, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install -y chromium)")
    # The close is laid out as the CLI lays it out (cli_layout): .close/warehouse.duckdb, .close/dagster, exports.
    closed_folder = closed_kwd_world.settings.export_dir.parent
    workdir = tmp_path_factory.mktemp("ui") / "close"
    shutil.copytree(closed_folder, workdir)
    exports = workdir / "exports"
    port = free_port()
    with SandboxStripeServer(kwd_world, API_KEY) as stripe_api, serve_downloads(exports) as downloads:
        environment = {
            **os.environ,
            "DAGSTER_HOME": str(workdir / ".close" / "dagster"),
            "CLOSE_WAREHOUSE": str(workdir / ".close" / "warehouse.duckdb"),
            "CLOSE_EXPORT_DIR": str(exports),
            "CLOSE_BANK_INBOX": str(workdir / Path(closed_kwd_world.settings.bank_inbox).relative_to(closed_folder)),
            "CLOSE_DOWNLOAD_BASE_URL": downloads,
            "STRIPE_API_KEY": API_KEY,
            "STRIPE_API_BASE": stripe_api.url,
            "CLOSE_SOURCE": "sandbox",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        environment.pop("CLOSE_EXPORT_S3_URI", None)
        period = f"{kwd_world.spec.start:%Y-%m}"
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster")), "dev", "-m", "orchestration.definitions", "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=(workdir / "dagster.log").open("w"),
            start_new_session=True,
        )
        try:
            # The lock, meanwhile: it proves and freezes the warehouse and records nothing on the instance.
            lock = subprocess.run(
                [sys.executable, "-m", "orchestration.cli", "close", "--period", period, "--actor", CONTROLLER],
                cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=1800,
            )
            assert lock.returncode == 0, f"close: {lock.stdout[-2000:]}{lock.stderr[-3000:]}"
            base = f"http://127.0.0.1:{port}"
            if not wait_until_serving(f"{base}/server_info", server, SERVER_CEILING_MS / 1000):
                pytest.fail(f"dagster dev did not come up:\n{(workdir / 'dagster.log').read_text()[-3000:]}")
            yield base, workdir, period
        finally:
            stop_group(server)


@pytest.fixture(scope="module")
def page(dagster_ui):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(RENDER_CEILING_MS)
        yield page
        # Where the test ended, pass or fail: the first thing to look at when it failed.
        page.screenshot(path=ARTIFACTS / "last-page.png", full_page=True)
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


def test_a_controller_reads_the_period_status_and_downloads_the_package(dagster_ui, page):
    base, workdir, period = dagster_ui
    page.goto(f"{base}/asset-groups")
    dismiss_welcome(page)
    for group in ("1_sources", "2_staging", "3_ledger", "4_reconciliation", "5_exports", "6_close_package"):
        expect(page.get_by_text(group, exact=True).first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "1-asset-graph.png")

    # The proofs the close evaluated and recorded on the instance, each with what it proves, in the checks tab.
    page.goto(f"{base}/assets/fct_journal_lines?view=checks")
    # The checks are listed by name; the first is selected, so choose the balance proof.
    page.get_by_text("journal_balances", exact=True).first.click()
    expect(page.get_by_text("Every journal entry sums to zero").first).to_be_visible()
    expect(page.get_by_text("Passed").first).to_be_visible()
    assert not page.get_by_text("Failed", exact=True).count()
    page.screenshot(path=ARTIFACTS / "2-checks.png")

    # One run from the UI: the locked month's status, picked in the launch dialog.
    page.goto(f"{base}/assets/close_status")
    page.get_by_role("button", name="Materialize…").first.click()
    dialog = page.get_by_role("dialog").last
    expect(dialog.get_by_text("Launch runs to materialize").first).to_be_visible()
    partitions = dialog.get_by_placeholder("ex: ").first
    partitions.fill(period)
    partitions.press("Enter")
    launch = dialog.get_by_role("button", name="Launch 1 run")
    page.screenshot(path=ARTIFACTS / "3-launch-one-month.png")
    launch.click()
    expect(dialog).to_be_hidden()

    # The run is done when the month's status shows the lock taken after the CLI's close.
    page.goto(f"{base}/assets/close_status?view=events&partition={period}")
    wait_for_state(page, page.get_by_text(f"Yes: locked by {CONTROLLER} on").first, workdir)
    page.screenshot(path=ARTIFACTS / "4-period-status.png", full_page=True)
    expect(page.get_by_text("Yes: all ").first).to_be_visible()
    expect(page.get_by_text("payouts matched (").first).to_be_visible()

    package_name = f"close_package/close_package_main_{period}.html"
    link = page.locator(f"a[href$='{package_name}']").first
    href = link.get_attribute("href")
    fetched = page.request.get(href)
    assert fetched.ok
    on_disk = workdir / "exports" / "main" / period / package_name
    assert hashlib.sha256(fetched.body()).hexdigest() == hashlib.sha256(on_disk.read_bytes()).hexdigest()
    with page.context.expect_page() as opened:
        link.click()
    package = opened.value
    expect(package.get_by_text("Trial balance").first).to_be_visible()
    package.screenshot(path=ARTIFACTS / "5-close-package.png")


def wait_for_state(page: Page, shown, workdir: Path) -> None:
    """Reload until `shown` is visible (the materialization landed); fail at once when a run fails."""
    deadline = time.monotonic() + RUN_CEILING_MS / 1000
    while True:
        try:
            expect(shown).to_be_visible(timeout=15_000)
            return
        except AssertionError:
            failed = run_failures(workdir / ".close" / "dagster")
            assert not failed, f"a run failed: {failed}; {(workdir / 'dagster.log').read_text()[-3000:]}"
            assert time.monotonic() < deadline, "the period status did not show the lock in time"
            page.reload()


def run_failures(home: Path) -> list[str]:
    # The project's dagster.yaml reads its storage folder from DAGSTER_HOME.
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        with dg.DagsterInstance.get() as instance:
            return [run.run_id for run in instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))]
    finally:
        os.environ.pop("DAGSTER_HOME") if previous is None else os.environ.update(DAGSTER_HOME=previous)
