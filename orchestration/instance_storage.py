"""The embedded instance's SQLite storage (dagster.yaml), with the event log keeping its engines.

Dagster's SQLite event log and run storage create a SQLAlchemy engine for every read and write of
a database, and SQLAlchemy keeps its compiled statements per engine: every event compiled its
INSERTs afresh and built a dialect. A close stores a few thousand events (each asset once per day of
its range, each check, each step), and this was about 45 % of the CPU each event cost
(docs/benchmarks.md, "Test suite"). Here the run storage keeps its engine and the event log the
engines of the databases it used last. Connections are not kept (NullPool, as Dagster's): a
database file deleted with its run, or a run written by another process, is opened afresh by the
next connection.

The layout under $DAGSTER_HOME is Dagster's own (`history/runs.db`, `history/runs/<run>.db`,
`schedules/`), so an instance made before keeps its runs; each class takes $DAGSTER_HOME as its
`base_dir`, as the `storage: sqlite:` setting does.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property

from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import _event_logs_directory, _runs_directory, _schedule_directory
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

# The index and the runs a process is writing or reading now; a webserver that pages through many
# runs' logs keeps no more than these.
ENGINES_KEPT = 16


class RunStorage(SqliteRunStorage):
    """Dagster's SQLite run storage in `<base_dir>/history`, its engine made once."""

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, str]) -> RunStorage:
        return cls.from_local(_runs_directory(config_value["base_dir"]), inst_data=inst_data)

    @cached_property
    def _engine(self) -> Engine:
        return create_engine(self._conn_string, poolclass=NullPool)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        # Dagster's own, but for the engine (it made one per run status change and per read).
        with self._engine.connect() as connection, connection.begin():
            yield connection


class ScheduleStorage(SqliteScheduleStorage):
    """Dagster's SQLite schedule storage in `<base_dir>/schedules`."""

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, str]) -> ScheduleStorage:
        return cls.from_local(_schedule_directory(config_value["base_dir"]), inst_data=inst_data)


class EventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log in `<base_dir>/history/runs`, one engine kept per database."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        # Its own lock: Dagster asks `has_table` inside a transaction that holds `_db_lock`.
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, str]) -> EventLogStorage:
        return cls(_event_logs_directory(config_value["base_dir"]), inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        """The shard's engine, made once (while it stays among the last used)."""
        with self._engines_lock:
            engine = self._engines.pop(shard, None)
            if engine is None:
                engine = create_engine(self.conn_string_for_shard(shard), poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
            self._engines[shard] = engine
            while len(self._engines) > ENGINES_KEPT:
                self._engines.popitem(last=False)[1].dispose()
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # Dagster's own, but for the engine: one transaction per call, under the storage's lock.
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as connection, connection.begin():
                yield connection

    def has_table(self, table_name: str) -> bool:
        # Asked once per asset event stored, inside the index's transaction; Dagster's made an engine
        # for each question.
        engine = self._engine(INDEX_SHARD_NAME)
        with engine.connect() as connection:
            return bool(engine.dialect.has_table(connection, table_name))
