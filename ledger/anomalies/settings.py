"""The accountant's settings of the anomaly watch: the dbt seed `anomaly_settings`, one row per metric.

Read from the warehouse as dbt loaded it (`accounting.anomaly_settings`), like the entities, so
the settings a flag was judged by are the ones the ledger build tested; or straight from the CSV
for a run without a warehouse (the benchmark). Columns: docs/anomalies.md and the seed's YAML.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from ledger.dbt_project import DBT_PROJECT_DIR

SEED = DBT_PROJECT_DIR / "seeds" / "anomaly_settings.csv"
SCHEMA = {
    "metric": pl.String, "is_enabled": pl.Boolean, "baseline": pl.String, "sensitivity": pl.Float64, "min_deviation": pl.Float64,
    "min_relative_deviation": pl.Float64, "min_volume": pl.Int64, "direction": pl.String, "history_weeks": pl.Int64,
    "min_history_weeks": pl.Int64,
}


class AnomalySettingsMissing(RuntimeError):
    """The warehouse has no anomaly_settings: the ledger was built before the seed existed."""


def load_settings(connection: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    try:
        frame = connection.sql(f"select {', '.join(SCHEMA)} from accounting.anomaly_settings").pl()
    except duckdb.CatalogException:
        raise AnomalySettingsMissing(
            "the warehouse has no accounting.anomaly_settings: build the ledger once (stripe-close run, or the ledger asset) to load the seed"
        ) from None
    return frame.cast(SCHEMA)


def read_settings_csv(path: Path = SEED) -> pl.DataFrame:
    return pl.read_csv(path, schema=SCHEMA)
