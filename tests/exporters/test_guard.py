"""The CLI's export guard runs every blocking proof itself: the accounting configuration, the dbt proofs and the GX suites."""

import duckdb
import pytest

from exporters.guard import LedgerNotProven, require_proven_ledger
from tests.dbt.builders import copy_ledger, project_copy, small_world_ledger


@pytest.fixture
def warehouse(tmp_path):
    return copy_ledger(small_world_ledger(), tmp_path / "ledger")


def test_a_proven_ledger_passes(warehouse):
    require_proven_ledger(warehouse)


def test_a_bad_seed_row_is_refused_naming_its_file_line_and_values(warehouse, tmp_path):
    project = project_copy(tmp_path / "dbt_project")
    rules = project / "seeds" / "gl_mapping_rules.csv"
    rules.write_text(rules.read_text().replace("reporting_category,refund,,,4900,", "reporting_category,refund,,,4901,", 1))
    with pytest.raises(LedgerNotProven) as refused:
        require_proven_ledger(warehouse, project)
    assert refused.value.failed == [
        "accounting_configuration_is_valid (gl_mapping_rules.csv line 5 (match_on='reporting_category', match_value='refund', "
        "currency='', entity_id=''): gross_account_code '4901' is not an account in gl_accounts.csv)"
    ]


def test_a_failing_gx_suite_is_refused_by_its_check_name(warehouse):
    with duckdb.connect(str(warehouse)) as connection:
        # One line of the journal moves by a minor unit: its entry no longer balances, and the journal's
        # Stripe clearing no longer equals Stripe's balance (rpt_trial_balance is a table built before).
        connection.execute("update main.fct_journal_lines set amount_minor = amount_minor + 1 "
                           "where journal_line_id = (select min(journal_line_id) from main.fct_journal_lines)")
    with pytest.raises(LedgerNotProven) as refused:
        require_proven_ledger(warehouse)
    assert refused.value.failed == [
        "clearing_equals_stripe_balance (fail, 1 failing row(s))", "journal_balances (fail, 1 failing row(s))",
        "lines_tie_to_sources (fail, 1 failing row(s))",
        "gx_journal_entries_balance (failed)", "gx_stripe_clearing_equals_stripe_balance (failed)",
    ]
