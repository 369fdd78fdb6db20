"""The sandbox's own statements matched to its world, built once per module."""

from __future__ import annotations

import pytest

from sandbox.merchant import World
from sandbox.outputs import write_sandbox_files
from tests.dbt.bank.builder import MatchedWarehouse, build_matched_warehouse


@pytest.fixture(scope="module")
def matched_world(small_world: World, tmp_path_factory: pytest.TempPathFactory) -> MatchedWarehouse:
    """The sandbox's BAI2 and camt.053 statements (the same entries twice) matched to the world's payouts."""
    workdir = tmp_path_factory.mktemp("bank-matching")
    files = write_sandbox_files(small_world, workdir / "sandbox")
    inbox = workdir / "inbox"
    inbox.mkdir()
    (inbox / files.bai2.name).write_bytes(files.bai2.read_bytes())
    (inbox / files.camt053.name).write_bytes(files.camt053.read_bytes())
    return build_matched_warehouse(small_world, workdir, inbox)
