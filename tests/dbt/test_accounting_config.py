"""An invalid accounting configuration fails at once, naming the file, the row and the reason."""

import shutil

import duckdb
import pytest

from ledger import accounting_config
from ledger.dbt_build import LedgerBuildFailed
from tests.dbt.builders import build, land, project_copy, transaction


def edited_seeds(tmp_path, seed: str, extra_lines: str):
    seeds = tmp_path / "seeds"
    shutil.copytree(accounting_config.SEEDS_DIR, seeds)
    with (seeds / f"{seed}.csv").open("a") as handle:
        handle.write(extra_lines)
    return seeds


def test_the_shipped_configuration_is_valid():
    assert accounting_config.problems() == []


def test_a_rule_naming_an_unknown_account_is_named_by_line(tmp_path):
    seeds = edited_seeds(tmp_path, "gl_mapping_rules", "reporting_category,brand_new,,,4001,,typo in the account\n")
    lines = sum(1 for _ in (seeds / "gl_mapping_rules.csv").open())
    with pytest.raises(accounting_config.AccountingConfigError) as raised:
        accounting_config.validate(seeds)
    assert raised.value.problems == [
        f"gl_mapping_rules.csv line {lines} (match_on='reporting_category', match_value='brand_new', currency='', entity_id=''): "
        "gross_account_code '4001' is not an account in gl_accounts.csv"
    ]


def test_two_rules_for_one_key_are_named_by_line(tmp_path):
    seeds = edited_seeds(tmp_path, "gl_mapping_rules", "reporting_category,charge,,,4100,,second rule for charge\n")
    lines = sum(1 for _ in (seeds / "gl_mapping_rules.csv").open())
    [problem] = accounting_config.problems(seeds)
    assert problem == (
        f"gl_mapping_rules.csv line {lines} (match_on='reporting_category', match_value='charge', currency='', entity_id=''): "
        "duplicates line 2; one row per match_on/match_value/currency/entity_id"
    )


def test_a_rule_for_an_unknown_entity_or_a_bad_rate_is_named(tmp_path):
    seeds = edited_seeds(tmp_path, "gl_mapping_rules", "type,charge,usd,acme_gmbh,4000,,\n")
    with (seeds / "fx_rates.csv").open("a") as handle:
        handle.write("2026-12-01,eur,usd,-1\n")
    problems = accounting_config.problems(seeds)
    assert any("entity_id='acme_gmbh'): entity_id is not in entities.csv" in p for p in problems)
    assert any("fx_rates.csv" in p and "rate must be a positive decimal" in p for p in problems)


def test_a_bad_anomaly_setting_is_named_by_line(tmp_path):
    seeds = edited_seeds(tmp_path, "anomaly_settings", "fee_rates,maybe,weekly,5,0.01,0,20,sideways,4,6\n")
    lines = sum(1 for _ in (seeds / "anomaly_settings.csv").open())
    where = f"anomaly_settings.csv line {lines} (metric='fee_rates')"
    problems = accounting_config.problems(seeds)
    assert problems[0].startswith(f"{where}: unknown metric; choose from gross_volume, transaction_count,")
    assert problems[1:] == [
        f"{where}: is_enabled must be true or false, not 'maybe'",
        f"{where}: baseline must be one of previous_day, weekday_median, not 'weekly'",
        f"{where}: direction must be one of both, down, up, not 'sideways'",
        f"{where}: min_history_weeks must be between 1 and history_weeks (4), not 6",
    ]


def test_dbt_build_stops_before_any_model_on_an_invalid_rule(tmp_path):
    project = project_copy(tmp_path / "dbt_project")
    with (project / "seeds" / "gl_mapping_rules.csv").open("a") as handle:
        handle.write("reporting_category,charge,,,4001,,\n")
    path = tmp_path / "warehouse.duckdb"
    land(path, [transaction("txn_1", "charge", "charge", 1_000)])
    with pytest.raises(LedgerBuildFailed) as raised:
        build(path, project_dir=project)
    failed = {failure.name: failure for failure in raised.value.failures}
    assert "assert_mapping_rules_resolve_uniquely" in failed
    assert failed["assert_mapping_rules_resolve_uniquely"].culprits == (
        {"match_on": "reporting_category", "match_value": "charge", "currency": "(any currency)",
         "entity_id": "(any entity)", "rules": 2, "gross_account_codes": "4000, 4001"},
    )
    assert any(name.startswith("relationships_gl_mapping_rules_gross_account_code") for name in failed)
    # Nothing downstream of the configuration was built.
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = {name for (name,) in connection.execute("select table_name from information_schema.tables where table_schema = 'main'").fetchall()}
    assert "fct_journal_lines" not in tables


def test_bad_sales_split_rows_are_named_by_line(tmp_path):
    seeds = edited_seeds(tmp_path, "gl_tax_accounts", "jurisdiction,CA,,2099,no such account\ncounty,Kings,,2000,\n")
    with (seeds / "gl_sales_policy.csv").open("a") as handle:
        handle.write("main,gross,,4200,4000,2000,,,\n")
    assert accounting_config.problems(seeds) == [
        "gl_sales_policy.csv line 3 (entity_id='main', discount_treatment='gross'): discount_treatment must be contra_revenue or net",
        "gl_tax_accounts.csv line 9 (match_on='jurisdiction', match_value='CA', entity_id=''): "
        "account_code '2099' is not an account in gl_accounts.csv",
        "gl_tax_accounts.csv line 10 (match_on='county', match_value='Kings', entity_id=''): match_on must be one of tax_rate, jurisdiction",
    ]


def test_a_sales_policy_for_every_entity_is_required_and_contra_revenue_needs_its_account(tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(accounting_config.SEEDS_DIR, seeds)
    (seeds / "gl_sales_policy.csv").write_text(
        "entity_id,discount_treatment,discount_account_code,shipping_account_code,default_revenue_account_code,"
        "default_tax_account_code,uninvoiced_metadata_key,uninvoiced_account_code,note\n"
        "main,contra_revenue,,4200,4000,2000,revenue_category,,\n"
    )
    assert accounting_config.problems(seeds) == [
        "gl_sales_policy.csv: no row without entity_id; one must give every entity's sales policy",
        "gl_sales_policy.csv line 2 (entity_id='main', discount_treatment='contra_revenue'): "
        "discount_account_code '' is not an account in gl_accounts.csv",
    ]


def test_a_tax_rule_naming_a_jurisdiction_not_as_the_ledger_does_says_the_iso_form(tmp_path):
    """Such a row matches no tax and would leave it on the default tax account in silence."""
    seeds = edited_seeds(tmp_path, "gl_tax_accounts", (
        "jurisdiction,California,,2010,old name\njurisdiction,us-ny,,2011,\njurisdiction,US-ON,,2000,\n"
        "jurisdiction,Germany,,2020,\njurisdiction,GB,,2022,\njurisdiction,US-TX,main,2012,\n"
    ))
    where = "gl_tax_accounts.csv line {} (match_on='jurisdiction', match_value='{}', entity_id='')"
    iso = "the ledger names jurisdictions ISO style: the country's two-letter code, with a US sale's state ('US-CA', 'DE'; docs/ledger.md)"
    assert accounting_config.problems(seeds) == [
        "gl_tax_accounts.csv line 13 (match_on='jurisdiction', match_value='GB', entity_id=''): duplicates line 7; one row per match_on/match_value/entity_id",
        f"{where.format(9, 'California')}: jurisdiction 'California' matches no tax: write 'US-CA'; {iso}",
        f"{where.format(10, 'us-ny')}: jurisdiction 'us-ny' matches no tax: write 'US-NY'; {iso}",
        f"{where.format(11, 'US-ON')}: jurisdiction 'US-ON' matches no tax: ON is not a US state (only US states are split out); {iso}",
        f"{where.format(12, 'Germany')}: jurisdiction 'Germany' matches no tax: {iso}; match a tax rate without a country by its tax_rate id",
    ]
