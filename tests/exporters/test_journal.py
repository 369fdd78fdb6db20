from collections import Counter

import pytest

from exporters.journal import EntrySplitError, group_entries, net_by_currency_and_account, split_entry
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
