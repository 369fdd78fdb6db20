"""Which engine dbt builds the ledger on: `CLOSE_ENGINE=duckdb` (the default: the warehouse file)
or `spark` (dbt-spark; docs/operations.md, "Running on Spark").

The dbt profile picks its target from the same setting, so `dbt` by hand, dagster-dbt and
`ledger.dbt_build` agree. On Spark the raw tables are parquet under the Spark folder
(`CLOSE_SPARK_DIR`, by default `spark/` beside the warehouse file), written from the warehouse
before each build (ledger.spark_landing).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ledger.config import ConfigError

ENGINES = ("duckdb", "spark")
# What Spark builds and proves so far, with everything upstream (dbt selectors; docs/operations.md,
# "Running on Spark"): the journal to its trial balance and drill-down, its translation into each
# entity's functional currency and the FX revaluation (what the exports read), revenue by product,
# tax payable by jurisdiction and the suspense postings, bank matching to its marts, the
# reconciliation exceptions, Stripe's payout reconciliation and balance roll-forward. The balance
# snapshots are selected for the proofs that compare with them (3 and 5).
SPARK_MODELS = (
    "+fct_journal_lines", "+rpt_trial_balance", "+fct_journal_line_sources", "+fct_fx_revaluation_lines",
    "+rpt_revenue_by_product", "+rpt_tax_payable_by_jurisdiction", "+rpt_suspense_postings",
    "+fct_payout_bank_matches", "+fct_payout_bank_returns", "+fct_reconciliation_exceptions", "+rpt_payout_reconciliation",
    "+rpt_stripe_balance_rollforward", "stg_stripe__balance_snapshots",
)


def close_engine(environment: Mapping[str, str]) -> str:
    """The engine named by CLOSE_ENGINE in `environment`, DuckDB when unset or empty."""
    engine = environment.get("CLOSE_ENGINE") or "duckdb"
    if engine not in ENGINES:
        raise ConfigError(f"CLOSE_ENGINE={engine!r} is not one of {', '.join(ENGINES)}")
    return engine


def spark_dir(warehouse: Path, environment: Mapping[str, str]) -> Path:
    """The folder of a Spark build's tables, catalog and raw parquet: CLOSE_SPARK_DIR, or `spark/` beside the warehouse."""
    return Path(environment.get("CLOSE_SPARK_DIR") or Path(warehouse).resolve().parent / "spark").resolve()
