"""The accounting configuration (seeds) is loaded and tested when it changes, not on every build;
and a new process finds the parse of the one before it."""

import json
import subprocess
import sys

import duckdb
import pytest

from ledger import dbt_runner, dbt_seeds
from ledger.dbt_build import LedgerBuildFailed, load_configuration, parse_ledger, recordable_configuration, target_dir
from ledger.dbt_project import DBT_PROJECT_DIR
from ledger.remembered_fingerprints import remembered_fingerprint
from tests.dbt.builders import build, copy_ledger, project_copy, query, small_world_ledger

# Every seed file of the project is loaded (the accounting configuration, the bank's and the anomaly watch's).
SEED_COUNT = len(list((DBT_PROJECT_DIR / "seeds").glob("*.csv")))


def seeds_run(run_results: dict) -> list[str]:
    return sorted(r["unique_id"] for r in run_results["results"] if r["unique_id"].startswith("seed."))


def checks_run(run_results: dict) -> set[str]:
    return {r["unique_id"].split(".")[2] for r in run_results["results"] if r["unique_id"].startswith("test.")}


@pytest.fixture
def ledger(tmp_path):
    return copy_ledger(small_world_ledger(), tmp_path / "ledger")


def test_a_build_leaves_the_loaded_seeds_alone_but_runs_every_test_of_a_model(ledger):
    # The small world's first build loaded the configuration; a copy holds it and its record.
    assert query(ledger, f"select count(*) from {dbt_seeds.FINGERPRINT_TABLE}") == [(1,)]
    again = build(ledger)
    assert seeds_run(again) == []
    assert "unique_gl_accounts_account_code" not in checks_run(again)
    # A test that reads a model and a seed still runs: a journal account missing from the chart fails.
    assert "accounts_in_chart" in checks_run(again)
    assert "booked_once" in checks_run(again)
    assert query(ledger, "select count(*) from accounting.gl_accounts") == query(small_world_ledger(), "select count(*) from accounting.gl_accounts")

    with duckdb.connect(str(ledger)) as connection:
        connection.execute(f"drop table {dbt_seeds.FINGERPRINT_TABLE}")
    loaded = build(ledger)
    assert len(seeds_run(loaded)) == SEED_COUNT
    assert "unique_gl_accounts_account_code" in checks_run(loaded)
    assert query(ledger, f"select count(*) from {dbt_seeds.FINGERPRINT_TABLE}") == [(1,)]


def test_an_edited_seed_is_loaded_and_a_bad_one_fails_naming_the_row(ledger, tmp_path):
    project = project_copy(tmp_path / "project")
    build(ledger, project_dir=project)
    with (project / "seeds" / "gl_accounts.csv").open("a") as accounts:
        accounts.write("4999,Other Stripe income,income,4999,499900\n")
    reloaded = build(ledger, project_dir=project)
    assert len(seeds_run(reloaded)) == SEED_COUNT
    assert query(ledger, "select account_name from accounting.gl_accounts where account_code = '4999'") == [("Other Stripe income",)]

    with (project / "seeds" / "gl_accounts.csv").open("a") as accounts:
        accounts.write("4999,The same code twice,income,4999,499900\n")
    with pytest.raises(LedgerBuildFailed) as raised:
        build(ledger, project_dir=project)
    assert any(f.name.startswith("unique_gl_accounts_account_code") and f.culprits == ({"unique_field": "4999", "n_records": 2},)
               for f in raised.value.failures)
    # Nothing records the failed load, so the build after the fix loads the seeds again.
    assert query(ledger, "select count(*) from information_schema.tables where table_name = 'configuration_loaded'") == [(0,)]


def build_in_a_new_process(warehouse_file, project) -> dict:
    """A real `dbt build` in a fresh Python process, as each hourly `stripe-close` run and Dagster run is."""
    script = ("import sys; from pathlib import Path; from ledger.dbt_build import build_ledger; "
              "build_ledger(Path(sys.argv[1]), {'CLOSE_JOURNAL_GRANULARITY': 'daily'}, project_dir=Path(sys.argv[2]))")
    subprocess.run([sys.executable, "-c", script, str(warehouse_file), str(project)], check=True, capture_output=True)
    return json.loads((target_dir(warehouse_file) / "run_results.json").read_text())


def test_a_new_process_leaves_the_seeds_a_long_lived_one_loaded_alone_until_a_seed_changes(ledger, tmp_path):
    project = project_copy(tmp_path / "project")
    # A long-lived process (a harness, the Dagster daemon's code server) loads the seeds twice: its
    # second load records the fingerprint of a project it has already built once.
    load_configuration(ledger, project_dir=project)
    load_configuration(ledger, project_dir=project)
    assert seeds_run(build_in_a_new_process(ledger, project)) == []

    with (project / "seeds" / "gl_accounts.csv").open("a") as accounts:
        accounts.write("4999,Other Stripe income,income,4999,499900\n")
    assert len(seeds_run(build_in_a_new_process(ledger, project))) == SEED_COUNT
    assert query(ledger, "select account_name from accounting.gl_accounts where account_code = '4999'") == [("Other Stripe income",)]


def test_seeds_loaded_by_another_runner_are_loaded_again_by_the_next_build(ledger, tmp_path):
    project = project_copy(tmp_path / "project")
    build(ledger, project_dir=project)
    dbt_runner.run_dbt(["seed", "--project-dir", str(project), "--profiles-dir", str(project), "--target-path", str(target_dir(ledger)),
                        "--select", "gl_accounts"], {"CLOSE_WAREHOUSE": str(ledger)}, project)
    assert query(ledger, "select count(*) from information_schema.tables where table_name = 'configuration_loaded'") == [(0,)]
    assert len(seeds_run(build(ledger, project_dir=project))) == SEED_COUNT


def test_a_new_process_uses_the_saved_parse_until_a_project_file_changes(ledger, tmp_path):
    project = project_copy(tmp_path / "project")
    warehouse_file = ledger
    settings = {"CLOSE_JOURNAL_GRANULARITY": "daily"}
    # The parse a build makes first (ledger.dbt_build.build_ledger), without the build after it.
    parse_ledger(warehouse_file, settings, project_dir=project)
    saved = target_dir(warehouse_file) / dbt_runner.SAVED_PARSE
    assert saved.exists()

    def parse_in_a_new_process() -> bool:
        """True when the new process found the saved parse (dbt wrote no new partial parse)."""
        script = ("import sys; from pathlib import Path; from ledger.dbt_build import parse_ledger; "
                  f"parse_ledger(Path(sys.argv[1]), {settings!r}, project_dir=Path(sys.argv[2]))")
        partial_parse = target_dir(warehouse_file) / "partial_parse.msgpack"
        before = partial_parse.stat().st_mtime_ns
        subprocess.run([sys.executable, "-c", script, str(warehouse_file), str(project)], check=True)
        return partial_parse.stat().st_mtime_ns == before

    assert parse_in_a_new_process()
    model = project / "models" / "marts" / "finance" / "rpt_trial_balance.sql"
    model.write_text(model.read_text() + "\n-- edited\n")
    assert not parse_in_a_new_process()
    assert parse_in_a_new_process()




def test_one_parse_serves_every_warehouse_of_the_same_name_and_dbt_writes_to_the_one_it_is_given(tmp_path):
    project = project_copy(tmp_path / "project")
    parse_ledger(tmp_path / "one" / "warehouse.duckdb", project_dir=project)
    parses = len(dbt_runner._manifests)
    # Each test's, bench's or close's new warehouse used to cost a parse (5 s of CPU in a warm process).
    second = tmp_path / "two" / "warehouse.duckdb"
    options = ["--project-dir", str(project), "--profiles-dir", str(project), "--target-path", str(target_dir(second))]
    # The settings ledger.dbt_build gives dbt, with another warehouse of the same name.
    result, output = dbt_runner.run_dbt(["seed", *options, "--select", "entities"], {"CLOSE_WAREHOUSE": str(second), "CLOSE_ENGINE": "duckdb"}, project)
    assert result.success, output
    assert len(dbt_runner._manifests) == parses
    assert (target_dir(second) / dbt_runner.SAVED_PARSE).exists(), "a new process building it would parse again"
    entities = len((project / "seeds" / "entities.csv").read_text().splitlines()) - 1
    assert query(second, "select count(*) from accounting.entities") == [(entities,)]
    assert not (tmp_path / "one" / "warehouse.duckdb").exists()

    # Another name is another database in every relation: parsed again.
    parse_ledger(tmp_path / "three" / "other.duckdb", project_dir=project)
    assert len(dbt_runner._manifests) == parses + 1
    other = list(dbt_runner._manifests.values())[-1]
    assert other.nodes["model.stripe_close.fct_journal_lines"].relation_name == '"other"."main"."fct_journal_lines"'


def fingerprint_in_a_new_process(warehouse_file, project) -> tuple[str, bool]:
    """(the configuration fingerprint a fresh process finds for `warehouse_file`, whether it parsed the project)."""
    script = ("import sys; from pathlib import Path; from ledger import dbt_runner; from ledger.dbt_build import recordable_configuration; "
              "print(recordable_configuration(Path(sys.argv[1]), project_dir=Path(sys.argv[2])), bool(dbt_runner._manifests))")
    output = subprocess.run([sys.executable, "-c", script, str(warehouse_file), str(project)], check=True, capture_output=True, text=True).stdout
    fingerprint, parsed = output.split()
    return fingerprint, parsed == "True"


def test_a_new_process_finds_the_configuration_fingerprint_of_a_parse_without_parsing(tmp_path):
    project = project_copy(tmp_path / "project")
    # Each Dagster run of a new warehouse used to parse the project to know whether its seeds were loaded.
    parsed = recordable_configuration(tmp_path / "one" / "warehouse.duckdb", project_dir=project)
    assert parsed == dbt_seeds.configuration_fingerprint(next(iter(dbt_runner._manifests.values())))
    assert fingerprint_in_a_new_process(tmp_path / "two" / "other.duckdb", project) == (parsed, False)


def test_a_remembered_fingerprint_is_asked_again_for_a_changed_project_file_or_a_setting_the_project_reads(tmp_path):
    project = project_copy(tmp_path / "project")
    asked: list[str] = []

    def fingerprint(settings: dict) -> str:
        return remembered_fingerprint(project, settings, lambda: asked.append("parse") or f"parse {len(asked)}")

    daily = {"CLOSE_JOURNAL_GRANULARITY": "daily", "CLOSE_WAREHOUSE": str(tmp_path / "one.duckdb")}
    assert fingerprint(daily) == "parse 1"
    # Where the warehouse is and what the project does not read are not the configuration.
    assert fingerprint({**daily, "CLOSE_WAREHOUSE": str(tmp_path / "two.duckdb"), "CLOSE_EXPORT_DIR": str(tmp_path)}) == "parse 1"
    assert fingerprint({**daily, "CLOSE_JOURNAL_GRANULARITY": "payout"}) == "parse 2"
    assert fingerprint({**daily, "DBT_STATIC_PARSER": "false"}) == "parse 3"
    with (project / "seeds" / "gl_accounts.csv").open("a") as accounts:
        accounts.write("4999,Other Stripe income,income,4999,499900\n")
    assert fingerprint(daily) == "parse 4"
    assert fingerprint(daily) == "parse 4"
