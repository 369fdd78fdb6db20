"""The project's table and view materializations (`create or replace`, macros/materializations):
a relation that changes type is replaced, hooks run, and a model that fails leaves what it would
have replaced, by real builds of an edited copy of the project on copies of the small world."""

import pytest

from ledger.dbt_build import LedgerBuildFailed
from tests.dbt.builders import build, copy_ledger, project_copy, query, small_world_ledger

TRIAL_BALANCE = ("models", "marts", "finance", "rpt_trial_balance.sql")
PAYOUTS = ("models", "staging", "stripe", "stg_stripe__payouts.sql")


@pytest.fixture
def ledger(tmp_path):
    return copy_ledger(small_world_ledger(), tmp_path / "ledger")


@pytest.fixture
def project(tmp_path):
    return project_copy(tmp_path / "project")


def relation_type(ledger, name: str) -> list[tuple]:
    return query(ledger, "select table_type from information_schema.tables where table_schema = 'main' and table_name = ?", [name])


def test_a_model_that_becomes_a_table_and_a_view_again_is_replaced_each_time(ledger, project):
    model = project.joinpath(*PAYOUTS)
    original = model.read_text()
    payouts = query(ledger, "select count(*), sum(amount_minor) from main.stg_stripe__payouts")
    assert relation_type(ledger, "stg_stripe__payouts") == [("VIEW",)]

    model.write_text("{{ config(materialized='table') }}\n" + original)
    build(ledger, project_dir=project)
    assert relation_type(ledger, "stg_stripe__payouts") == [("BASE TABLE",)]
    assert query(ledger, "select count(*), sum(amount_minor) from main.stg_stripe__payouts") == payouts

    model.write_text(original)
    build(ledger, project_dir=project)
    assert relation_type(ledger, "stg_stripe__payouts") == [("VIEW",)]
    assert query(ledger, "select count(*), sum(amount_minor) from main.stg_stripe__payouts") == payouts


def test_a_post_hook_sees_the_new_table_inside_its_transaction(ledger, project):
    model = project.joinpath(*TRIAL_BALANCE)
    model.write_text(
        "{{ config(post_hook='create or replace table main.trial_balance_rows_seen as select count(*) as line_count from {{ this }}') }}\n"
        + model.read_text())
    build(ledger, project_dir=project)
    assert query(ledger, "select line_count from main.trial_balance_rows_seen") == query(ledger, "select count(*) from main.rpt_trial_balance")


def test_a_model_that_fails_leaves_the_table_it_would_have_replaced(ledger, project):
    before = query(ledger, "select account_code, currency, balance_minor from main.rpt_trial_balance order by all")
    assert before
    project.joinpath(*TRIAL_BALANCE).write_text("select error('trial balance broken on purpose') as account_code\n")
    with pytest.raises(LedgerBuildFailed) as raised:
        build(ledger, project_dir=project)
    [failure] = [failure for failure in raised.value.failures if failure.name == "rpt_trial_balance"]
    assert failure.status == "error"
    assert "trial balance broken on purpose" in failure.message
    assert query(ledger, "select account_code, currency, balance_minor from main.rpt_trial_balance order by all") == before
