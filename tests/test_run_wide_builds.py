"""A run-wide build is made once however many workers ask for it at the same moment, and a build that
died half-way is made again."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.run_wide_builds import COMPLETE_MARK, FOLDER_VARIABLE, built_once

ASK = """
import sys, time
from pathlib import Path
from tests.run_wide_builds import built_once

log = Path(sys.argv[1])
def make(folder):
    # Builds only once both workers have asked: the other one is waiting, not finished.
    while log.read_text().count("asked") < 2:
        time.sleep(0.05)
    with log.open("a") as stream:
        stream.write("made\\n")
    (folder / "warehouse.duckdb").write_text("built")

with log.open("a") as stream:
    stream.write("asked\\n")
print(built_once("ledger", make))
"""


def test_two_workers_asking_at_once_get_one_build(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    environment = {**os.environ, FOLDER_VARIABLE: str(runs), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    workers = [subprocess.Popen([sys.executable, "-c", ASK, str(tmp_path / "made.log")], env=environment, stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    folders = [worker.communicate(timeout=120)[0].strip() for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0]
    assert folders == [str(runs / "ledger")] * 2
    assert (tmp_path / "made.log").read_text().count("made") == 1
    assert (runs / "ledger" / "warehouse.duckdb").read_text() == "built"


def test_a_build_that_died_half_way_is_made_again(tmp_path, monkeypatch):
    monkeypatch.setenv(FOLDER_VARIABLE, str(tmp_path))
    (tmp_path / "ledger").mkdir()
    (tmp_path / "ledger" / "half-written.duckdb").write_text("torn")
    folder = built_once("ledger", lambda folder: (folder / "warehouse.duckdb").write_text("built"))
    assert sorted(path.name for path in folder.iterdir()) == [COMPLETE_MARK, "warehouse.duckdb"]
    assert built_once("ledger", lambda folder: pytest.fail("a complete build is not made again")) == folder


def test_without_the_controllers_folder_it_says_what_is_missing(monkeypatch):
    monkeypatch.delenv(FOLDER_VARIABLE, raising=False)
    with pytest.raises(RuntimeError, match=f"^{FOLDER_VARIABLE} is not set: run-wide builds need tests/conftest.py's pytest_configure$"):
        built_once("ledger", lambda folder: None)
