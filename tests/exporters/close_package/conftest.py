"""One real close of the small world (sandbox Stripe API and bank statements, dbt, Dagster) that the
close-package and finance-metadata tests read: three currencies including JPY, period 2026-10."""

import dataclasses
from datetime import timedelta

import dagster as dg
import pytest

from ledger.config import CloseSettings
from orchestration.close_run import run_close
from sandbox.outputs import write_sandbox_files
from sandbox.stripe_api import SandboxStripeServer
from tests.conftest import API_KEY

PERIOD = "2026-10"
CLOSE_VARIABLES = (
    "CLOSE_SOURCE", "CLOSE_WAREHOUSE", "CLOSE_EXPORT_DIR", "STRIPE_API_BASE", "CLOSE_ENTITY_ID", "CLOSE_REPORTING_TIMEZONE",
    "CLOSE_BANK_INBOX", "STRIPE_API_KEY", "CLOSE_EXPORT_S3_URI",
)


@dataclasses.dataclass(frozen=True)
class Closed:
    settings: CloseSettings
    instance: dg.DagsterInstance


@pytest.fixture(scope="session")
def closed(small_world, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("reporting-close")
    bank_files = write_sandbox_files(small_world, workdir / "sandbox")
    spec = small_world.spec
    with pytest.MonkeyPatch.context() as patch, SandboxStripeServer(small_world, API_KEY) as server:
        for name in CLOSE_VARIABLES:
            patch.delenv(name, raising=False)  # run_close exports the close's settings; restored afterwards
        settings = dataclasses.replace(
            CloseSettings.from_env({}), source="sandbox", warehouse=workdir / "warehouse.duckdb", export_dir=workdir / "exports",
            stripe_api_key=API_KEY, stripe_api_base=server.url, bank_inbox=str(bank_files.bai2.parent),
        )
        instance = dg.DagsterInstance.ephemeral()
        run_close(settings, spec.start, spec.start + timedelta(days=spec.days - 1), instance)
    return Closed(settings, instance)
