"""A small hand-computable world for translation and period-end revaluation.

A copy of the dbt project whose fx_rates hold round rates (so every amount below can be checked by
hand), an entity `eu` with functional currency EUR beside the default `main` (USD), and the Stripe
records of each, landed in their own warehouse and built by real dbt.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from ledger.dbt_build import build_ledger
from tests.dbt.builders import land, project_copy, transaction, ts

# 1 unit of currency = rate units of functional currency, from rate_date on.
RATES = """rate_date,currency,functional_currency,rate
2026-10-01,jpy,usd,0.0067
2026-10-01,kwd,usd,3.2611
2026-10-31,jpy,usd,0.00655
2026-10-31,kwd,usd,3.25
2026-11-30,jpy,usd,0.0069
2026-11-30,kwd,usd,3.27
2026-10-01,usd,eur,0.92155
2026-10-31,usd,eur,0.9301
"""
EU_ENTITY = "eu,acct_eu,ACME Robotics GmbH,2,2000,eur\n"

# Entity main (USD): JPY and KWD balances in October, more JPY in November, and USD.
MAIN_TRANSACTIONS = [
    transaction("txn_jpy_oct", "charge", "charge", 123_457, 4_321, currency="jpy", created=ts("2026-10-05")),
    transaction("txn_kwd_oct", "charge", "charge", 12_345, 458, currency="kwd", created=ts("2026-10-05")),
    transaction("txn_usd_oct", "charge", "charge", 5_000, 175, created=ts("2026-10-05")),
    transaction("txn_jpy_nov", "charge", "charge", 10_001, 0, currency="jpy", created=ts("2026-11-03")),
]
# Entity eu (EUR): USD activity only.
EU_TRANSACTIONS = [
    transaction("txn_usd_1", "charge", "charge", 10_001, 333, created=ts("2026-10-05")),
    transaction("txn_usd_2", "charge", "charge", 12_345, 371, created=ts("2026-10-06")),
]


def fx_project(destination: Path, rates: str = RATES) -> Path:
    """The dbt project with these rates and the `eu` entity."""
    project = destination if (destination / "dbt_project.yml").exists() else project_copy(destination)
    (project / "seeds" / "fx_rates.csv").write_text(rates)
    entities = project / "seeds" / "entities.csv"
    if EU_ENTITY not in entities.read_text():
        entities.write_text(entities.read_text() + EU_ENTITY)
    return project


def land_and_build(warehouse: Path, project: Path, entity_id: str, transactions: list[dict]) -> None:
    totals: dict[str, int] = defaultdict(int)
    for record in transactions:
        totals[record["currency"]] += record["net"]
    land(warehouse, transactions, balance={"available": [{"amount": a, "currency": c} for c, a in totals.items()], "pending": []})
    rebuild(warehouse, project, entity_id)


def rebuild(warehouse: Path, project: Path, entity_id: str) -> None:
    build_ledger(warehouse, {"CLOSE_ENTITY_ID": entity_id, "CLOSE_JOURNAL_GRANULARITY": "daily"}, project_dir=project)
