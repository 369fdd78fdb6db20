"""Every suspense posting listed for review, by a real dbt build: money a rule sends to suspense on
purpose (other_adjustment) as well as money no rule maps, each with its reason and age, in the
mart rpt_suspense_postings and in the warning assert_no_suspense_postings (severity warn: it never
blocks an export)."""

from datetime import date, datetime, timezone

import dagster as dg
import duckdb
import pytest

from ledger.dbt_build import culprit_rows, target_dir
from ledger.dbt_project import DBT_PROJECT_DIR
from orchestration.finance_metadata import compiled_tests, with_test_rows
from tests.dbt.builders import build, compiled_test_sql, land, query, statuses, transaction, ts

WARNING = "assert_no_suspense_postings"
SUSPENSE = "9999"
OTHER_ADJUSTMENT = transaction("txn_other_adjustment", "adjustment", "other_adjustment", -1_234, created=ts("2026-10-05"))
UNMAPPED = transaction("txn_mystery", "mystery_type", "mystery_category", 5_678, currency="eur", created=ts("2026-10-20"))
CHARGE = transaction("txn_charge", "charge", "charge", 10_000, fee=320, created=ts("2026-09-15"))


def csv_line(prefix: str) -> int:
    """The line of seeds/gl_mapping_rules.csv that starts with `prefix` (the header is line 1)."""
    lines = (DBT_PROJECT_DIR / "seeds" / "gl_mapping_rules.csv").read_text().splitlines()
    [number] = [number for number, line in enumerate(lines, start=1) if line.startswith(prefix)]
    return number


def utc_today() -> date:
    return datetime.now(timezone.utc).date()


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    path = tmp_path_factory.mktemp("suspense") / "warehouse.duckdb"
    land(path, transactions=[CHARGE, OTHER_ADJUSTMENT, UNMAPPED])
    before = utc_today()
    run = build(path)
    return path, run, (before, utc_today())


def test_both_suspense_postings_are_listed_with_reason_and_age(ledger):
    path, _, build_days = ledger
    rows = query(path, """
        select balance_transaction_id, entity_id, currency, accounting_date, period, suspense_account_code, suspense_amount_minor,
            reason, mapping_rule_line, aged_as_of, age_days
        from main.rpt_suspense_postings order by balance_transaction_id""")
    rule_line = csv_line("reporting_category,other_adjustment,")
    [mystery, other] = rows
    assert other[:9] == (
        "txn_other_adjustment", "main", "usd", date(2026, 10, 5), "2026-10", SUSPENSE, 1_234,
        f"mapped to suspense by rule {rule_line - 1} (gl_mapping_rules.csv line {rule_line})", rule_line,
    )
    assert mystery[:9] == (
        "txn_mystery", "main", "eur", date(2026, 10, 20), "2026-10", SUSPENSE, -5_678,
        "unmapped reporting_category mystery_category / type mystery_type", None,
    )
    for row in rows:
        aged_as_of, age_days = row[9], row[10]
        assert aged_as_of in build_days
        assert age_days == (aged_as_of - row[3]).days


def test_the_suspense_postings_equal_the_suspense_account_in_the_journal(ledger):
    path, _, _ = ledger
    assert query(path, "select currency, sum(suspense_amount_minor) from main.rpt_suspense_postings group by all order by 1") == query(
        path, f"select currency, sum(amount_minor) from main.fct_journal_lines where account_code = '{SUSPENSE}' group by all order by 1")


def test_the_warning_lists_every_suspense_posting_and_blocks_nothing(ledger):
    path, run, _ = ledger
    outcome = statuses(run)
    assert outcome[WARNING] == "warn"
    assert "fail" not in outcome.values() and "error" not in outcome.values()
    [result] = [r for r in run["results"] if r["unique_id"].endswith(WARNING)]
    assert result["failures"] == 2
    listed = {row["balance_transaction_id"]: row["reason"] for row in culprit_rows(path, compiled_test_sql(path, WARNING))}
    assert listed == {
        "txn_other_adjustment": f"mapped to suspense by rule {csv_line('reporting_category,other_adjustment,') - 1} "
                                f"(gl_mapping_rules.csv line {csv_line('reporting_category,other_adjustment,')})",
        "txn_mystery": "unmapped reporting_category mystery_category / type mystery_type",
    }


def test_a_ledger_without_suspense_postings_passes_the_warning(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    land(path, transactions=[CHARGE])
    assert statuses(build(path))[WARNING] == "pass"
    assert query(path, "select count(*) from main.rpt_suspense_postings") == [(0,)]


def test_the_dagster_check_lists_the_postings_it_warns_about(ledger):
    """dagster-dbt reports a warning test as a count; the ledger asset attaches its rows, read with
    the SQL this build compiled (orchestration.finance_metadata), so the check lists the postings."""
    path, _, _ = ledger
    warned = dg.AssetCheckResult(
        passed=False, severity=dg.AssetCheckSeverity.WARN, asset_key="rpt_suspense_postings", check_name=WARNING,
        metadata={"unique_id": f"test.stripe_close.{WARNING}"},
    )
    with duckdb.connect(str(path), read_only=True) as connection:
        listed = with_test_rows(connection, warned, compiled_tests(target_dir(path)))
    rows = listed.metadata["rows"].value
    assert sorted((row["balance_transaction_id"], row["currency"], row["suspense_amount_minor"], row["accounting_date"]) for row in rows) == [
        ("txn_mystery", "eur", -5_678, "2026-10-20"), ("txn_other_adjustment", "usd", 1_234, "2026-10-05")]
    assert (listed.passed, listed.severity) == (False, dg.AssetCheckSeverity.WARN)
