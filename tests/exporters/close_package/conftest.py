"""The close-package and finance-metadata tests read the suite's one close of the small world
(tests/conftest.py): three currencies including JPY, period 2026-10."""

import pytest

PERIOD = "2026-10"


@pytest.fixture(scope="session")
def closed(closed_small_world):
    return closed_small_world
