import os
import signal
import subprocess
import sys
from collections import Counter

import pytest

from exporters.journal import EntrySplitError, atomic_write_bytes, group_entries, net_by_currency_and_account, split_entry
from ledger import failpoints
from tests.exporters.lines import JPY, USD, long_entry


def test_entries_group_by_external_id_in_ledger_order():
    entries = group_entries(JPY + USD)
    assert [entry.external_id for entry in entries] == ["STRIPE-main-20261003-JPY", "STRIPE-main-20261003-USD"]
    assert [len(entry.lines) for entry in entries] == [3, 3]


def test_an_entry_within_the_limit_is_not_split():
    [entry] = group_entries(USD)
    assert split_entry(entry, 3, "1010") == [entry]


def test_a_long_entry_splits_into_balanced_parts_that_sum_to_the_entry():
    lines = long_entry(2_500)
    [entry] = group_entries(lines)
    parts = split_entry(entry, 1_000, "1010")
    assert [part.external_id for part in parts] == [f"STRIPE-main-20261004-USD-P0{n}" for n in (1, 2, 3)]
    assert [len(part.lines) for part in parts] == [1_000, 1_000, 502]
    for part in parts:
        assert sum(line.amount_minor for line in part.lines) == 0
        assert {line.external_id for line in part.lines} == {part.external_id}
    split_lines = [line for part in parts for line in part.lines]
    assert net_by_currency_and_account(split_lines) == net_by_currency_and_account(lines)
    # Only the carry account appears in more than one part.
    accounts = Counter(line.account_code for line in split_lines)
    assert {account for account, count in accounts.items() if count > 1} == {"1010"}
    assert split_entry(entry, 1_000, "1010") == parts


def test_a_split_without_the_carry_account_is_refused_by_name():
    [entry] = group_entries([line for line in long_entry(10) if line.account_code != "1010"] + long_entry(2)[:1])
    with pytest.raises(EntrySplitError, match="STRIPE-main-20261004-USD has 10 lines .* carry account 9999"):
        split_entry(entry, 5, "9999")


def test_a_writer_killed_before_its_rename_leaves_the_old_file_and_the_next_write_removes_its_temporary(tmp_path):
    """SIGKILL at the export.write failpoint, as `stripe-close chaos` kills a close: the export keeps
    its old bytes, and the next write of it leaves no temporary file behind."""
    export = tmp_path / "netsuite_main_2026-10.csv"
    atomic_write_bytes(export, b"old")
    write = f"from pathlib import Path; from exporters.journal import atomic_write_bytes; atomic_write_bytes(Path({str(export)!r}), b'new')"
    killed = subprocess.run([sys.executable, "-c", write], env={**os.environ, failpoints.VARIABLE: "export.write"}, capture_output=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL
    assert export.read_bytes() == b"old", killed.stderr
    [temporary] = tmp_path.glob(f".{export.name}.*.tmp")
    assert temporary.read_bytes() == b"new"
    atomic_write_bytes(export, b"resumed")
    assert export.read_bytes() == b"resumed"
    assert sorted(path.name for path in tmp_path.iterdir()) == [export.name]
