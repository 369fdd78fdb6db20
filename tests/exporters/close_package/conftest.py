"""The close-package and finance-metadata tests read the suite's one close of the small world
(tests/conftest.py): three currencies including JPY, period 2026-10."""

from datetime import datetime

import pytest

from exporters.close_package.package import build_close_packages
from exporters.publish import Destination
from orchestration.defs.export.guard import blocking_proof_results

PERIOD = "2026-10"
# The one time a test package shows: rendering reads no clock, so a rebuild gives the same bytes.
GENERATED_AT = datetime(2026, 11, 3, 9, 15, 0)


@pytest.fixture(scope="session")
def closed(closed_small_world):
    return closed_small_world


@pytest.fixture(scope="module")
def package(closed, tmp_path_factory):
    """The main entity's October package, with the proof results the close recorded on its instance."""
    [built] = build_close_packages(
        closed.settings.warehouse, Destination(directory=tmp_path_factory.mktemp("package")), [PERIOD], "main",
        proofs=blocking_proof_results(closed.instance), generated_at=GENERATED_AT, dagster_run_id="run-of-the-test",
    )
    return built
