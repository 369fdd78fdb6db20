"""Shared fixtures: a small deterministic sandbox world, the sandbox Stripe API serving it, and one
real close of it that every test reading a closed warehouse shares."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest

from ledger.config import CloseSettings
from orchestration.close_run import CloseResult, run_close
from orchestration.instance import persistent_instance
from sandbox.merchant import World, WorldSpec, simulate
from sandbox.outputs import write_sandbox_files
from sandbox.stripe_api import SandboxStripeServer
from tests.run_wide_builds import close_run_folder, open_run_folder
from tests.temp_root import choose_temp_root

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
STRIPE_FIXTURES = SAMPLES / "stripe" / "openapi_fixtures3.json"
API_KEY = "sk_test_stripe_close_tests"
RUN_BUILDS_FOLDER = pytest.StashKey[Path]()
# Small, but every special case (partial capture, dispute and its reversal, the failed payout,
# the late and the combined deposit) happens, in three currencies including JPY.
SMALL_WORLD = WorldSpec(seed=11, days=12, transactions_per_day=30)
# The same, plus a manual and an instant payout, which Stripe cannot itemize.
# A few days of sales in four currencies (JPY and KWD: 0 and 3 decimals), with their source objects.
FOUR_CURRENCIES = WorldSpec(seed=5, days=10, transactions_per_day=30, currencies=("usd", "eur", "jpy", "kwd"), connect_transfers=True)
PAYOUTS_BY_HAND_WORLD = WorldSpec(seed=11, days=12, transactions_per_day=30, manual_and_instant_payouts=True)
# An account settling in USD and KWD (3 decimals: NetSuite keeps 2), with a manual and an instant
# USD payout: the KWD export exceptions and the payouts Stripe cannot itemize, in one close.
KWD_WORLD = WorldSpec(seed=11, days=12, transactions_per_day=15, currencies=("usd", "kwd"), manual_and_instant_payouts=True)
# The sandbox Stripe API has no rate limit: at the client's default ceiling (25/s, Stripe test
# mode's) a close of the small world waits 4.5 s of its 5.7 s of ingestion (141 requests).
SANDBOX_REQUESTS_PER_SECOND = "500"
# run_close exports the close's settings to os.environ (dbt reads them there): cleared for a close
# and restored afterwards (close_environment), so no test sees another's warehouse.
CLOSE_VARIABLES = (
    "CLOSE_SOURCE", "CLOSE_WAREHOUSE", "CLOSE_EXPORT_DIR", "STRIPE_API_BASE", "CLOSE_ENTITY_ID", "CLOSE_REPORTING_TIMEZONE",
    "CLOSE_BANK_INBOX", "STRIPE_API_KEY", "CLOSE_EXPORT_S3_URI",
)
# `make test` runs the suite in two pytest-xdist workers, a test file at a time. A session fixture
# that holds live objects (the small world's close: its Dagster instance lives in that process) is
# built once per worker that asks for it: the files reading one run in the same worker, as one unit.
# Every test file that uses one of these fixtures must be listed (pytest_collection_modifyitems
# refuses a run otherwise). Builds that are only files (tests/dbt/builders.py's small_world_ledger)
# are built once per run instead, whichever worker asks first (tests/run_wide_builds.py).
SHARED_BUILDS = {
    "tests/ledger/test_anomal": "anomaly_worlds",
    "tests/browser/": "closed_kwd_world",
    "tests/e2e/test_unexportable_currency.py": "closed_kwd_world",
    "tests/e2e/test_payouts_by_hand.py": "closed_kwd_world",
    "tests/e2e/test_close.py": "closed_small_world",
    "tests/e2e/test_spark_close.py": "closed_small_world",
    "tests/exporters/close_package/": "closed_small_world",
    "tests/dbt/test_personal_data_in_a_close.py": "closed_small_world",
    "tests/e2e/test_cli_mistakes.py": "closed_small_world",
    "tests/e2e/test_no_bank_statements.py": "closed_small_world",
    "tests/orchestration/test_close_status.py": "closed_small_world",
    "tests/dbt/test_entities_by_account.py": "two_entity_ledger",
    "tests/exporters/test_entity_exports.py": "two_entity_ledger",
    "tests/exporters/test_entity_close_packages.py": "two_entity_ledger",
}
# The fixtures among those builds: a test using one from a file not listed above is refused at collection.
SHARED_BUILD_FIXTURES = ("closed_small_world", "closed_kwd_world")

# The units (a file, or a shared build's files) that take longest, longest first: under xdist they
# start first, so neither worker is left alone with a long one at the end. xdist gives a worker its
# next unit once it has two tests or fewer left, at the start too: fault injection (two tests)
# starts with the small world's close group, the KWD close group (the browser test and the KWD
# files, six tests) alone, and the remaining units go to whichever worker runs short first.
SLOWEST_UNITS = (
    "tests/e2e/test_fault_injection.py", "closed_kwd_world", "closed_small_world", "tests/orchestration/test_backfill.py",
    "tests/e2e/test_cli.py", "tests/dbt/test_incremental_close.py", "tests/dbt/test_continuous_proofs.py", "tests/exporters/test_export_e2e.py", "two_entity_ledger",
    "anomaly_worlds",
)


def work_unit(path: str) -> str:
    """What xdist hands a worker whole: the shared build `path` belongs to, else its file."""
    module = path.split("::")[0]
    return next((build for prefix, build in SHARED_BUILDS.items() if module.startswith(prefix)), module)


def slowness_rank(nodeid: str) -> int:
    unit = work_unit(nodeid)
    return next((rank for rank, slow in enumerate(SLOWEST_UNITS) if unit.startswith(slow)), len(SLOWEST_UNITS))


@dataclasses.dataclass(frozen=True)
class Closed:
    settings: CloseSettings
    instance: dg.DagsterInstance
    result: CloseResult


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        # Parse the dbt project (when its manifest is stale) before any xdist worker starts: two
        # workers finding it stale at once would both write dbt_project/target/manifest.json.
        from orchestration.defs.transform.project import prepare_manifest

        prepare_manifest()
        config.stash[RUN_BUILDS_FOLDER] = open_run_folder(choose_temp_root(config))


def pytest_unconfigure(config: pytest.Config) -> None:
    if RUN_BUILDS_FOLDER in config.stash:
        close_run_folder(config.stash[RUN_BUILDS_FOLDER])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unlisted = sorted({
        f"{item.nodeid.split('::')[0]} uses {fixture}"
        for item in items
        for fixture in SHARED_BUILD_FIXTURES
        if fixture in getattr(item, "fixturenames", ()) and not item.nodeid.startswith(tuple(SHARED_BUILDS))
    })
    if unlisted:
        raise pytest.UsageError(f"add to SHARED_BUILDS in tests/conftest.py (else each worker builds it again): {'; '.join(unlisted)}")
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: slowness_rank(item.nodeid))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Whole test files to a worker, in collection order (SLOWEST_UNITS first), with the files of
    one shared build (SHARED_BUILDS) as one unit."""
    from xdist.scheduler import LoadFileScheduling

    class SharedBuildScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False  # by test count, it would start the one-test browser file last
    return SharedBuildScheduling(config, log)


@pytest.fixture(scope="module", autouse=True)
def environment_of_the_file() -> Iterator[None]:
    """os.environ as the file found it, after its last test: what a file's in-process closes set
    (close_environment restores it around each close of this conftest) never reaches the
    `stripe-close` subprocesses of the files after it in the same worker."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def stripe_fixtures() -> dict:
    return json.loads(STRIPE_FIXTURES.read_text())["resources"]


@pytest.fixture(scope="session")
def small_world() -> World:
    return simulate(SMALL_WORLD)


@pytest.fixture(scope="session")
def payouts_by_hand_world() -> World:
    return simulate(PAYOUTS_BY_HAND_WORLD)


@pytest.fixture
def stripe_server(small_world: World) -> Iterator[SandboxStripeServer]:
    with SandboxStripeServer(small_world, API_KEY) as server:
        yield server


@contextlib.contextmanager
def close_environment() -> Iterator[None]:
    """Around an in-process close: the close variables cleared, then os.environ restored whole.

    run_close sets the close's settings in os.environ for its dbt child; a variable that was not set
    before would outlive the close (monkeypatch.delenv records nothing for an absent one) and reach
    a later test's `stripe-close` subprocess (its bank inbox, its warehouse)."""
    saved = dict(os.environ)
    for name in CLOSE_VARIABLES:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def close_small_world(world: World, settings: CloseSettings, instance: dg.DagsterInstance, last_day: date | None = None) -> Closed:
    """A whole close of `world` (sandbox Stripe API over HTTP, the bank files in `settings.bank_inbox`),
    of its every day or up to `last_day`."""
    spec = world.spec
    with close_environment(), SandboxStripeServer(world, API_KEY) as server:
        os.environ["STRIPE_MAX_REQUESTS_PER_SECOND"] = SANDBOX_REQUESTS_PER_SECOND
        settings = dataclasses.replace(settings, stripe_api_base=server.url)
        result = run_close(settings, spec.start, last_day or spec.start + timedelta(days=spec.days - 1), instance)
    return Closed(settings, instance, result)


def cli_layout(workdir: Path, bank_inbox: str = "") -> tuple[CloseSettings, dg.DagsterInstance]:
    """Sandbox settings and an instance on disk laid out as the CLI lays them out in `workdir`
    (.close/warehouse.duckdb, .close/dagster, exports): a `stripe-close` command run there finds the
    proofs the close recorded."""
    settings = dataclasses.replace(
        CloseSettings.from_env({}), source="sandbox", warehouse=workdir / ".close" / "warehouse.duckdb", export_dir=workdir / "exports",
        stripe_api_key=API_KEY, bank_inbox=bank_inbox,
    )
    with close_environment():
        os.environ["DAGSTER_HOME"] = str(workdir / ".close" / "dagster")
        return settings, persistent_instance()


@pytest.fixture(scope="session")
def closed_small_world(small_world: World, tmp_path_factory) -> Closed:
    """One real close of the small world (Stripe API and bank statements, dbt, Dagster), period
    2026-10, three currencies including JPY. Read-only: a test that changes it works on a copy."""
    workdir = tmp_path_factory.mktemp("small-world-close")
    bank_files = write_sandbox_files(small_world, workdir / "sandbox")
    settings = dataclasses.replace(
        CloseSettings.from_env({}), source="sandbox", warehouse=workdir / "warehouse.duckdb", export_dir=workdir / "exports",
        stripe_api_key=API_KEY, bank_inbox=str(bank_files.bai2.parent),
    )
    return close_small_world(small_world, settings, dg.DagsterInstance.ephemeral())


@pytest.fixture(scope="session")
def kwd_world() -> World:
    return simulate(KWD_WORLD)


@pytest.fixture(scope="session")
def closed_kwd_world(kwd_world: World, tmp_path_factory) -> Iterator[Closed]:
    """One real close of the KWD world with its bank statements, period 2026-10, laid out as the CLI
    lays it out (.close/warehouse.duckdb, .close/dagster on disk, exports): `stripe-close export`
    of a copy finds the proofs it recorded. Read-only: a test that changes it works on a copy."""
    workdir = tmp_path_factory.mktemp("kwd-close")
    bank_files = write_sandbox_files(kwd_world, workdir / ".close" / "sandbox")
    settings, instance = cli_layout(workdir, bank_inbox=str(bank_files.bai2.parent))
    with instance:
        yield close_small_world(kwd_world, settings, instance)


@pytest.fixture
def webhook():
    """A local HTTP server that records the JSON posted to it: (its URL, the bodies received)."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the stdlib's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/close", received
    server.shutdown()
