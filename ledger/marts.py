"""One way to read the marts whichever engine built them (`CLOSE_ENGINE`, ledger/engine.py).

Exports, the close package and tests read the ledger through `open_marts`: on DuckDB it is a
read-only connection to the warehouse file; on Spark a cursor over the Spark session, whose
catalog holds the tables the dbt build wrote (the `spark` target of dbt_project/profiles.yml).
Both answer `execute(sql, parameters)` with `fetchall()` and `fetchone()`, `?` marking the
parameters, which is all a reader of the marts uses.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import duckdb

from ledger.engine import close_engine, spark_dir


class MartsCursor(Protocol):
    def fetchall(self) -> list[tuple]: ...

    def fetchone(self) -> tuple | None: ...


class MartsReader(Protocol):
    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> MartsCursor: ...


class SparkRows:
    """The rows of one Spark query, read whole (a reader of the marts takes them all)."""

    def __init__(self, rows: list[tuple]) -> None:
        self._rows = rows
        self._next = 0

    def fetchall(self) -> list[tuple]:
        rows, self._next = self._rows[self._next:], len(self._rows)
        return rows

    def fetchone(self) -> tuple | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]


class SparkMarts:
    """The marts of a Spark build through its session; `?` parameters bound by Spark itself."""

    def __init__(self, session: Any) -> None:
        self._session = session

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> SparkRows:
        frame = self._session.sql(sql, args=list(parameters)) if parameters else self._session.sql(sql)
        return SparkRows([tuple(row) for row in frame.collect()])


def spark_session(folder: Path) -> Any:
    """The Spark session of this process, or a local one on the catalog and tables under `folder`:
    the settings of the `spark` target in dbt_project/profiles.yml that say where they are."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[2]").appName("stripe-close")
        .config("spark.sql.warehouse.dir", str(folder / "warehouse"))
        .config("spark.hadoop.javax.jdo.option.ConnectionURL", f"jdbc:derby:;databaseName={folder / 'metastore_db'};create=true")
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={folder}")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .enableHiveSupport()
        .getOrCreate()
    )


@contextmanager
def open_marts(warehouse: Path, environment: Mapping[str, str] | None = None) -> Iterator[MartsReader]:
    """A reader of the marts built for `warehouse` on the engine `environment` names (os.environ by default)."""
    environment = os.environ if environment is None else environment
    if close_engine(environment) == "spark":
        # The session stays open: starting one costs about a minute, and dbt-spark reuses it.
        yield SparkMarts(spark_session(spark_dir(warehouse, environment)))
        return
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        yield connection
    finally:
        connection.close()
