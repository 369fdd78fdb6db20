import json

import dagster as dg

from orchestration.definitions import defs
from orchestration.defs.transform.project import dbt_project


def asset_graph():
    return defs().resolve_asset_graph()


def test_definitions_load_with_every_stage():
    keys = {key.to_user_string() for key in asset_graph().get_all_asset_keys()}
    assert {
        "stripe/stripe_balance_transactions", "stripe/stripe_payouts", "stripe/stripe_payout_transactions",
        "stripe/stripe_fee_details", "stripe/stripe_balance_snapshots",
        "stg_stripe__balance_transactions", "stg_stripe__payouts", "fct_journal_lines", "fct_journal_line_sources",
        "rpt_trial_balance", "accounting/gl_mapping_rules", "accounting/currency_exponents", "netsuite_journal_csv",
    } <= keys


def test_dbt_sources_hang_off_the_ingestion_assets():
    graph = asset_graph()
    parents = graph.get(dg.AssetKey("stg_stripe__balance_transactions")).parent_keys
    # And the entities seed, which maps each row's Stripe account to its entity.
    assert parents == {dg.AssetKey(["stripe", "stripe_balance_transactions"]), dg.AssetKey(["accounting", "entities"])}
    export_parents = graph.get(dg.AssetKey("netsuite_journal_csv")).parent_keys
    assert dg.AssetKey("fct_journal_lines") in export_parents


def test_every_warehouse_step_is_in_the_duckdb_pool():
    definitions = defs()
    for assets_def in definitions.assets:
        assert assets_def.op.pool == "duckdb", assets_def.node_def.name


def test_every_dbt_test_is_an_asset_check_on_the_model_it_reads():
    """dagster-dbt attaches a singular test only to a model the test reads (its `meta.dagster.ref`
    must be one of its refs); any other test would run as a bare observation, blocking nothing."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    tests = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "test"}
    checks = {key.name: key.asset_key.to_user_string() for key in asset_graph().asset_check_keys}
    assert tests - checks.keys() == set()
    assert checks["payouts_equal_their_transactions"] == "stg_stripe__payout_transactions"
    assert checks["clearing_equals_stripe_balance"] == "fct_journal_lines"
    assert checks["booked_once"] == "fct_journal_line_sources"


def test_every_asset_has_a_group_and_a_description():
    graph = asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name and node.group_name != "default", key
        if not key.to_user_string().startswith("accounting/"):
            assert node.description, key


def test_the_secret_is_an_env_var_not_a_value():
    stripe_resource = defs().resources["stripe"]
    assert isinstance(stripe_resource.api_key, dg.EnvVar)
