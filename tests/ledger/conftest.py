"""The anomaly watch's 180-day worlds (sandbox.anomaly_worlds), landed and built once for every
anomaly test file (tests/conftest.py SHARED_BUILDS keeps those files on one worker)."""

from pathlib import Path

import pytest

from sandbox.anomaly_worlds import anomaly_world, land_anomaly_world


def _built(directory: Path, injected: bool) -> Path:
    path = directory / "warehouse.duckdb"
    directory.mkdir(parents=True)
    land_anomaly_world(path, anomaly_world(injected))
    return path


@pytest.fixture(scope="session")
def anomaly_worlds(tmp_path_factory) -> dict[str, Path]:
    """The injected world and its clean twin, each a built warehouse. Read-only: copy to change one."""
    root = tmp_path_factory.mktemp("anomaly-worlds")
    return {"injected": _built(root / "injected", True), "clean": _built(root / "clean", False)}
