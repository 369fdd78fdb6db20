"""The tests' temporary folders go to tmpfs only when nobody chose a place and tmpfs has room."""

import os
from collections import namedtuple
from pathlib import Path
from types import SimpleNamespace

from tests import temp_root
from tests.temp_root import MIN_FREE_BYTES, TEMP_ROOT_VARIABLE, choose_temp_root

Usage = namedtuple("Usage", "total used free")


def config(basetemp=None):
    return SimpleNamespace(option=SimpleNamespace(basetemp=basetemp))


def test_tmpfs_with_room_becomes_the_root_the_workers_inherit(tmp_path, monkeypatch):
    monkeypatch.delenv(TEMP_ROOT_VARIABLE, raising=False)
    monkeypatch.setattr(temp_root, "TMPFS", tmp_path)
    monkeypatch.setattr(temp_root.shutil, "disk_usage", lambda path: Usage(0, 0, MIN_FREE_BYTES))
    assert choose_temp_root(config()) == tmp_path
    assert os.environ[TEMP_ROOT_VARIABLE] == str(tmp_path)


def test_a_small_tmpfs_leaves_the_system_default(tmp_path, monkeypatch):
    monkeypatch.delenv(TEMP_ROOT_VARIABLE, raising=False)
    monkeypatch.setattr(temp_root, "TMPFS", tmp_path)
    monkeypatch.setattr(temp_root.shutil, "disk_usage", lambda path: Usage(0, 0, MIN_FREE_BYTES - 1))
    assert choose_temp_root(config()) is None
    assert TEMP_ROOT_VARIABLE not in os.environ


def test_a_missing_tmpfs_leaves_the_system_default(tmp_path, monkeypatch):
    monkeypatch.delenv(TEMP_ROOT_VARIABLE, raising=False)
    monkeypatch.setattr(temp_root, "TMPFS", tmp_path / "absent")
    assert choose_temp_root(config()) is None
    assert TEMP_ROOT_VARIABLE not in os.environ


def test_the_users_choice_wins(tmp_path, monkeypatch):
    monkeypatch.setattr(temp_root, "TMPFS", tmp_path)
    monkeypatch.setenv(TEMP_ROOT_VARIABLE, "/srv/scratch")
    assert choose_temp_root(config()) == Path("/srv/scratch")
    assert choose_temp_root(config(basetemp="/srv/basetemp")) is None
    assert os.environ[TEMP_ROOT_VARIABLE] == "/srv/scratch"
