"""The raw tables as parquet, for a dbt build on Spark (`CLOSE_ENGINE=spark`).

Ingestion lands Stripe and bank records in the DuckDB warehouse (keys, dedupe, cursors live
there). A Spark build reads the same rows as parquet: one folder per raw table under the Spark
folder's `raw/`, which the dbt macro `register_raw_tables` declares as external tables in Spark's
catalog at the start of each build. Every raw table is written, empty ones too, so every source
the models name exists with its columns.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from ledger.warehouse import RAW_SCHEMA, RAW_TABLES


def raw_parquet_dir(spark_dir: Path) -> Path:
    """Where the raw parquet folders of a Spark build live (macro register_raw_tables reads the same)."""
    return Path(spark_dir) / "raw"


def write_raw_parquet(warehouse: Path, spark_dir: Path) -> dict[str, int]:
    """Write every raw table of the DuckDB `warehouse` as parquet under `spark_dir`/raw/<table>/,
    replacing what an earlier export left; returns the rows written per table."""
    written: dict[str, int] = {}
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        for table in RAW_TABLES:
            folder = raw_parquet_dir(spark_dir) / table
            # A folder replaced whole: a stale part file would be read as more rows.
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            connection.execute(f"copy (select * from {RAW_SCHEMA}.{table}) to '{folder / 'part-0.parquet'}' (format parquet)")
            written[table] = connection.execute(f"select count(*) from {RAW_SCHEMA}.{table}").fetchone()[0]
    return written
