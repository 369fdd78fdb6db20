"""Ingestion from Stripe Data Pipeline exports on S3: parquet tables, served as the raw tables.

Stripe delivers a full copy of the data every few hours: per run, a folder per table of parquet
files and, once the run is complete, a SUCCESS marker (reference/stripe.md 3.1). So a load picks
the newest run that has its marker, ignores runs still being written, and, since the run is the
whole history, makes it the Data Pipeline's part of each raw table whole. Stripe documents the
layout only loosely, so where runs, modes and tables live is a template to confirm against a real
bucket (`table_template`, `marker_template`, `run_format`).

Files move with boto3 (any S3 endpoint through `AWS_ENDPOINT_URL`) to a folder beside the
warehouse, because DuckDB cannot load its S3 extension offline; they download on threads while
DuckDB checks the ones already here. The files are not copied into DuckDB: the big raw tables read
them in place (`warehouse.deliver`), which turns a load into a download and one read of every
value. That read is the check: a corrupt object fails naming its key, a missing required column
fails naming the table and the column, a repeated id fails naming the id. Since the views read the
files at every later query, a value they could not cast would break every read after the commit:
so before anything moves, each part's column types are judged against the raw columns they fill,
and text standing for numbers or times is tried value by value (`delivery_types`). The views,
payouts, snapshot and cursor change in one transaction: a load is whole or absent, and readers see
the previous delivery until the commit; its files go only after it.

The rows are the API source's rows: balance transactions map column by column, payouts (Stripe
keeps them in `transfers`) go through the same builder as API payouts, and payout contents come
from `automatic_transfer_id`, for the payouts the API would itemize.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import chain
from pathlib import Path
from typing import Any

import boto3
import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ledger import progress, warehouse
from ledger.sources import delivery_types, source_tables, stripe_records
from ledger.sources.s3_fetch import ParallelDownload, S3Object

SOURCE = "data_pipeline"
STREAM = "data_pipeline"
MODES = ("livemode", "testmode")
DEFAULT_TABLE_TEMPLATE = "{run}/{mode}/{table}/"
DEFAULT_MARKER_TEMPLATE = "{run}/{mode}/coreapi_SUCCESS"
DEFAULT_RUN_FORMAT = "%Y%m%dT%H%M%SZ"

BALANCE_TRANSACTIONS = "balance_transactions"
TRANSFERS = "transfers"
FEE_DETAILS = "balance_transaction_fee_details"
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    BALANCE_TRANSACTIONS: ("id", "amount", "fee", "net", "currency", "type", "created", "available_on"),
    TRANSFERS: ("id", "amount", "currency", "status", "created", "date", "type", "automatic"),
    FEE_DETAILS: ("balance_transaction_id", "amount", "currency", "type"),
}
# Source-object tables (optional): their not-null columns are required when the table is delivered.
SOURCE_REQUIRED_COLUMNS = {table.delivered_name: tuple(c.name for c in table.columns if c.not_null) for table in source_tables.TABLES}
# The order the loader needs the tables in, and so the order they are downloaded in.
LOAD_ORDER = (TRANSFERS, BALANCE_TRANSACTIONS, FEE_DETAILS)
# Columns read when present (Stripe adds columns over time; older exports may lack some).
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    BALANCE_TRANSACTIONS: ("reporting_category", "status", "description", "source_id", "exchange_rate", "balance_type", "automatic_transfer_id"),
    TRANSFERS: ("method", "balance_transaction_id", "failure_balance_transaction_id", "failure_code", "failure_message",
                "reconciliation_status", "trace_id_status", "trace_id_value", "destination_id", "statement_descriptor", "description"),
    FEE_DETAILS: ("id", "index", "description", "application"),
}
# `transfers` also holds Connect transfers (type `stripe_account`); payouts go to a bank or a card.
PAYOUT_TRANSFER_TYPES = ("bank_account", "card")
# The raw table each table lands in, the columns landing under another name, and the rows that land:
# every column filling a raw column must be of a type that lands in it (`delivery_types`).
LANDS_IN = {BALANCE_TRANSACTIONS: "stripe_balance_transactions", TRANSFERS: "stripe_payouts", FEE_DETAILS: "stripe_fee_details"}
LANDED_NAMES: dict[str, dict[str, str]] = {
    BALANCE_TRANSACTIONS: {"merchant_id": "stripe_account_id"},
    TRANSFERS: {"merchant_id": "stripe_account_id", "date": "arrival_date"},
    FEE_DETAILS: {"merchant_id": "stripe_account_id", "index": "position"},
}
LANDING_ROWS = {TRANSFERS: f"type in ({', '.join(repr(kind) for kind in PAYOUT_TRANSFER_TYPES)})"}
# The column that names a row in an error.
RECORD_KEYS = {BALANCE_TRANSACTIONS: "id", TRANSFERS: "id", FEE_DETAILS: "balance_transaction_id"}


class DataPipelineError(RuntimeError):
    """An export cannot be loaded; the message names the S3 key, table or column and the reason."""


@dataclass(frozen=True)
class DataPipelineSettings:
    uri: str
    mode: str = "livemode"
    table_template: str = DEFAULT_TABLE_TEMPLATE
    marker_template: str = DEFAULT_MARKER_TEMPLATE
    run_format: str = DEFAULT_RUN_FORMAT
    endpoint_url: str | None = None
    # Personal-data columns to store anyway (`table.column`, CLOSE_PERSONAL_DATA_ALLOWLIST); none by default.
    personal_data: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not re.fullmatch(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?", self.uri):
            raise ValueError(f"the Data Pipeline location {self.uri!r} is not an s3://bucket/prefix URI")
        if self.mode not in MODES:
            raise ValueError(f"the Data Pipeline mode {self.mode!r} is not one of {', '.join(MODES)}")
        for name, template, fields in (("table template", self.table_template, ("{run}", "{table}")), ("marker template", self.marker_template, ("{run}",))):
            missing = [f for f in fields if f not in template]
            if missing:
                raise ValueError(f"the Data Pipeline {name} {template!r} lacks {', '.join(missing)}")

    @property
    def bucket(self) -> str:
        return self.uri[len("s3://"):].split("/", 1)[0]

    @property
    def prefix(self) -> str:
        rest = self.uri[len("s3://"):].split("/", 1)
        return rest[1].strip("/") + "/" if len(rest) == 2 and rest[1].strip("/") else ""

    def table_prefix(self, run: str, table: str) -> str:
        return self.prefix + self.table_template.format(run=run, mode=self.mode, table=table)

    def marker_key(self, run: str) -> str:
        return self.prefix + self.marker_template.format(run=run, mode=self.mode)

    def run_time(self, run: str) -> datetime:
        return datetime.strptime(run, self.run_format).replace(tzinfo=timezone.utc)

    def s3_client(self):
        return boto3.client("s3", endpoint_url=self.endpoint_url) if self.endpoint_url else boto3.client("s3")


@dataclass(frozen=True)
class CompleteRun:
    run: str
    time: datetime


@dataclass(frozen=True)
class DataPipelineStats:
    run: str
    run_time: datetime
    loaded: bool
    balance_transactions: int = 0
    fee_details: int = 0
    payouts: int = 0
    payout_transactions: int = 0
    payouts_not_itemized: int = 0
    # Rows of source-object tables (charges, invoices and their lines, ...), when the delivery has them.
    source_rows: int = 0
    objects: int = 0
    bytes_downloaded: int = 0
    # Wall times. Downloading and loading overlap: `seconds` is the whole run, from listing the
    # bucket to the commit; `download_s` until the last file landed; `load_s` the run without the
    # time the loader sat waiting for files.
    seconds: float = 0.0
    download_s: float = 0.0
    load_s: float = 0.0

    def as_metadata(self) -> dict[str, Any]:
        return {
            "data_pipeline_run": self.run,
            "data_pipeline_run_time": self.run_time.isoformat(),
            "loaded": self.loaded,
            "balance_transactions": self.balance_transactions,
            "fee_details": self.fee_details,
            "payouts": self.payouts,
            "payout_transactions": self.payout_transactions,
            "payouts_not_itemized": self.payouts_not_itemized,
            "source_rows": self.source_rows,
            "objects": self.objects,
            "bytes_downloaded": self.bytes_downloaded,
            "seconds": round(self.seconds, 3),
            "download_s": round(self.download_s, 3),
            "load_s": round(self.load_s, 3),
            "rows_per_s": round(self.objects / self.seconds) if self.seconds > 0 else 0,
        }


def _keys(s3: Any, bucket: str, prefix: str) -> list[tuple[str, int]]:
    paginator = s3.get_paginator("list_objects_v2")
    return [(item["Key"], item["Size"]) for page in paginator.paginate(Bucket=bucket, Prefix=prefix) for item in page.get("Contents", [])]


def complete_runs(settings: DataPipelineSettings, s3: Any) -> list[CompleteRun]:
    """Runs with their SUCCESS marker, oldest first. Runs without one are still being delivered."""
    pattern = re.compile(re.escape(settings.prefix) + re.escape(settings.marker_template).replace(r"\{run\}", "(?P<run>[^/]+)").replace(r"\{mode\}", re.escape(settings.mode)) + "$")
    runs = []
    for key, _ in _keys(s3, settings.bucket, settings.prefix):
        match = pattern.match(key)
        if match:
            try:
                runs.append(CompleteRun(match["run"], settings.run_time(match["run"])))
            except ValueError:
                continue  # a folder that is not a run, e.g. Stripe's penny_test
    return sorted(runs, key=lambda run: run.time)


def newest_complete_run(settings: DataPipelineSettings, s3: Any) -> CompleteRun:
    runs = complete_runs(settings, s3)
    if not runs:
        raise DataPipelineError(
            f"no complete Data Pipeline run under s3://{settings.bucket}/{settings.prefix}: no key matches "
            f"{settings.marker_template.format(run='<run>', mode=settings.mode)!r} (check the marker template and mode)"
        )
    return runs[-1]


@dataclass(frozen=True)
class _TableFiles:
    paths: tuple[Path, ...]
    columns: dict[str, pa.DataType]

    def has(self, column: str) -> bool:
        return column in self.columns

    def source(self) -> str:
        listed = ", ".join("'" + str(path).replace("'", "''") + "'" for path in self.paths)
        return f"read_parquet([{listed}], union_by_name = true)"

    def timestamp(self, column: str) -> str:
        """A column as a naive UTC timestamp, whether stored with a zone, without one, or as epoch seconds."""
        kind = self.columns[column]
        if pa.types.is_integer(kind):
            return f"make_timestamp({column} * 1000000)"
        if pa.types.is_timestamp(kind) and kind.tz is not None:
            # Epoch arithmetic: a time zone conversion through ICU costs seconds per ten million rows.
            return f"make_timestamp(epoch_us({column}))"
        return f"cast({column} as timestamp)"

    def optional(self, column: str, sql_type: str = "varchar") -> str:
        return column if self.has(column) else f"cast(null as {sql_type})"


def _parts(settings: DataPipelineSettings, s3: Any, run: str, folder: Path) -> dict[str, list[S3Object]]:
    """The run's parquet objects per table, each with the local file it is downloaded to."""
    parts = {}
    for table in LOAD_ORDER:
        prefix = settings.table_prefix(run, table)
        objects = [(key, size) for key, size in _keys(s3, settings.bucket, prefix) if key.endswith(".parquet")]
        if not objects:
            raise DataPipelineError(f"run {run} has no parquet files for table {table} under s3://{settings.bucket}/{prefix}")
        parts[table] = [S3Object(key, size, folder / table / f"{number:06d}.parquet") for number, (key, size) in enumerate(objects)]
    return parts


def _checked_files(settings: DataPipelineSettings, table: str, parts: list[S3Object]) -> _TableFiles:
    """The downloaded parts of `table`, each a readable parquet file with the required columns."""
    columns = {}
    for part in parts:
        uri = f"s3://{settings.bucket}/{part.key}"
        try:
            schema = pq.read_schema(part.path)
        except (pa.ArrowException, OSError) as error:
            raise DataPipelineError(f"{uri} is not a readable parquet file: {error}") from None
        missing = [column for column in REQUIRED_COLUMNS.get(table, SOURCE_REQUIRED_COLUMNS.get(table, ())) if column not in schema.names]
        if missing:
            raise DataPipelineError(f"table {table}: {uri} lacks required column {', '.join(repr(m) for m in missing)}")
        for field in schema:
            columns.setdefault(field.name, field.type)
    return _TableFiles(tuple(part.path for part in parts), columns)


def _balance_transactions_sql(files: _TableFiles, loaded: str) -> str:
    # The exchange rate goes through text, as the API path does, so both give the same decimal.
    rate = f"cast(cast({files.optional('exchange_rate', 'double')} as varchar) as decimal(38, 18))"
    return f"""
        select id, amount, fee, net, lower(currency) as currency, type,
               {files.optional('reporting_category')} as reporting_category,
               {files.timestamp('created')} as created, {files.timestamp('available_on')} as available_on,
               {files.optional('status')} as status, {files.optional('description')} as description,
               {files.optional('source_id')} as source_id, {rate} as exchange_rate,
               {files.optional('balance_type')} as balance_type, {files.optional('merchant_id')} as stripe_account_id,
               '{SOURCE}' as _source, {loaded} as _loaded_at
        from {files.source()}
    """


def _fee_details_sql(files: _TableFiles, loaded: str) -> str:
    # The position within the transaction's `fee_details`: the export's `index` if it has one
    # (cheap), else numbered in `id` order.
    if files.has("index"):
        position = "cast(index as integer)"
    else:
        order = "id" if files.has("id") else "type, amount"
        position = f"cast(row_number() over (partition by balance_transaction_id order by {order}) - 1 as integer)"
    return f"""
        select balance_transaction_id, {position} as position,
               amount, lower(currency) as currency, type,
               {files.optional('description')} as description, {files.optional('application')} as application,
               {files.optional('merchant_id')} as stripe_account_id, '{SOURCE}' as _source, {loaded} as _loaded_at
        from {files.source()}
    """


def _payout_objects(connection: duckdb.DuckDBPyConnection, files: _TableFiles) -> list[dict[str, Any]]:
    """Payout rows of `transfers` in the API's JSON shape, for the API's row builder."""
    epoch = "cast(epoch({}) as bigint)"
    result = connection.execute(f"""
        select id, cast(amount as bigint) as amount, currency, status, {epoch.format(files.timestamp('created'))} as created,
               {epoch.format(files.timestamp('date'))} as arrival_date, cast(automatic as boolean) as automatic, type,
               {files.optional('method')} as method, {files.optional('balance_transaction_id')} as balance_transaction,
               {files.optional('failure_balance_transaction_id')} as failure_balance_transaction,
               {files.optional('failure_code')} as failure_code, {files.optional('failure_message')} as failure_message,
               {files.optional('reconciliation_status')} as reconciliation_status,
               {files.optional('trace_id_status')} as trace_id_status, {files.optional('trace_id_value')} as trace_id_value,
               {files.optional('destination_id')} as destination, {files.optional('statement_descriptor')} as statement_descriptor,
               {files.optional('description')} as description, {files.optional('merchant_id')} as stripe_account_id
        from {files.source()}
        where {LANDING_ROWS[TRANSFERS]}
        qualify row_number() over (partition by id) = 1
    """)
    names = [column[0] for column in result.description]
    rows = [dict(zip(names, values)) for values in result.fetchall()]
    for row in rows:
        row["trace_id"] = {"status": row.pop("trace_id_status"), "value": row.pop("trace_id_value")}
    return rows


def _balance_sums(created: str, available_on: str) -> list[str]:
    """Per currency, the balance at `$as_of` (Stripe's definition: available once `available_on`
    has passed, pending before) of the transactions created by then."""
    # `net` may be delivered as text of checked digits.
    return [f"sum(cast(net as bigint)) filter (where {created} <= $as_of and {available_on} <= $as_of)",
            f"sum(cast(net as bigint)) filter (where {created} <= $as_of and {available_on} > $as_of)"]


def _snapshot(connection: duckdb.DuckDBPyConnection, delivered: Iterable[tuple[str | None, str, int | None, int | None]], as_of: datetime,
              loaded_at: datetime) -> pa.Table:
    """The balance per account (`merchant_id`) and currency at the run's time: the delivered
    transactions' sums (taken while checking the files) plus those of the rows landed under other
    keys (newer API rows)."""
    landed = connection.execute(
        f"select stripe_account_id, currency, {', '.join(_balance_sums('created', 'available_on'))} "
        f"from {warehouse.landed_table('stripe_balance_transactions')} group by all",
        {"as_of": as_of},
    ).fetchall()
    totals: dict[tuple[str | None, str], list[int]] = {}
    for account, currency, available, pending in chain(delivered, landed):
        sums = totals.setdefault((account, currency), [0, 0])
        sums[0] += int(available or 0)
        sums[1] += int(pending or 0)
    per_account = []
    for account in dict.fromkeys(account for account, _ in totals):
        balance = {
            bucket: [{"amount": sums[position], "currency": currency} for (a, currency), sums in totals.items() if a == account]
            for position, bucket in enumerate(("available", "pending"))
        }
        per_account.append(stripe_records.with_account(stripe_records.balance_snapshot_rows(balance, as_of, SOURCE, loaded_at), account))
    return pa.concat_tables(per_account) if per_account else stripe_records.with_account(stripe_records.balance_snapshot_rows({}, as_of, SOURCE, loaded_at), None)


def _locate_corrupt_file(connection: duckdb.DuckDBPyConnection, settings: DataPipelineSettings, parts: dict[str, list[S3Object]],
                         error: duckdb.Error) -> DataPipelineError:
    """DuckDB names local paths; find the object that cannot be read and name its S3 key."""
    for part in (part for table in LOAD_ORDER for part in parts[table] if part.path.exists()):
        try:
            connection.execute(f"select bit_xor(hash(columns(*))) from read_parquet('{part.path}')").fetchall()
        except duckdb.Error as file_error:
            uri = f"s3://{settings.bucket}/{part.key}"
            return DataPipelineError(f"{uri} cannot be read: {str(file_error).replace(str(part.path), uri)}")
    return DataPipelineError(f"the Data Pipeline export could not be loaded: {error}")


# Parts checked at once, each on its own DuckDB cursor: a part is about one parquet row group, which
# DuckDB reads on one thread, so one part at a time would leave the second core idle.
CHECK_WORKERS = 2


@dataclass(frozen=True)
class _PartCheck:
    rows: int
    # Its columns as stored, and what of them cannot land in the raw tables (then nothing else is checked).
    columns: dict[str, pa.DataType]
    types: delivery_types.PartTypes
    # Balance transactions only: per account and currency (available, pending) at the run's time, and id hashes.
    balances: tuple[tuple[str | None, str, int | None, int | None], ...] = ()
    id_hashes: np.ndarray | None = None


def _check_part(cursor: duckdb.DuckDBPyConnection, settings: DataPipelineSettings, table: str, part: S3Object, as_of: datetime,
                targets: dict[str, warehouse.LandedColumn]) -> _PartCheck:
    """One part: its schema checked, its columns' types against the raw columns they fill (`targets`),
    and every value read once, so a corrupt page fails the load and not a later build (hashing a
    column's values decodes its pages; counting them may be answered from the footer's
    statistics). Balance transactions give their balance sums and id hashes on the way."""
    files = _checked_files(settings, table, [part])
    types = delivery_types.check_part(cursor, table, f"s3://{settings.bucket}/{part.key}", part.path, files.columns, targets,
                                      RECORD_KEYS[table], LANDING_ROWS.get(table, "true"))
    if types.problems:
        return _PartCheck(types.rows, files.columns, types)
    if table != BALANCE_TRANSACTIONS:
        [(rows, *_)] = cursor.execute(f"select count(*), bit_xor(hash(columns(*))) from {files.source()}").fetchall()
        return _PartCheck(rows, files.columns, types)
    sums = _balance_sums(files.timestamp("created"), files.timestamp("available_on"))
    per_currency = cursor.execute(
        f"select {files.optional('merchant_id')}, lower(currency), count(*), {', '.join(sums)}, bit_xor(hash(columns(* exclude (id)))) "
        f"from {files.source()} group by all",
        {"as_of": as_of},
    ).fetchall()
    return _PartCheck(
        rows=sum(row[2] for row in per_currency), columns=files.columns, types=types,
        balances=tuple((account, currency, available, pending) for account, currency, _, available, pending, *_ in per_currency),
        id_hashes=cursor.sql(f"select hash(id) as id_hash from {files.source()}").fetchnumpy()["id_hash"],
    )


def _check_when_landed(connection: duckdb.DuckDBPyConnection, download: ParallelDownload, settings: DataPipelineSettings,
                       table: str, part: S3Object, as_of: datetime, targets: dict[str, warehouse.LandedColumn],
                       checked: progress.Step) -> _PartCheck:
    download.wait([part])
    with connection.cursor() as cursor:
        check = _check_part(cursor, settings, table, part, as_of, targets)
    checked.advance(1, row=check.rows)
    return check


def _landing_targets(connection: duckdb.DuckDBPyConnection) -> dict[str, dict[str, warehouse.LandedColumn]]:
    """Per table, the raw column each delivered column fills, by its delivered name."""
    targets = {}
    for table, raw_table in LANDS_IN.items():
        delivered_name = {landed: delivered for delivered, landed in LANDED_NAMES[table].items()}
        targets[table] = {delivered_name.get(column.name, column.name): column for column in warehouse.landed_columns(connection, raw_table)}
    return targets


def _refuse_what_cannot_land(run: str, settings: DataPipelineSettings, parts: dict[str, list[S3Object]], checks: dict[str, list[_PartCheck]]) -> None:
    """One error for every column that cannot land: its type or its values in any part, and the
    columns parts store differently."""
    sentences = delivery_types.refusals(
        (problem for table in LOAD_ORDER for check in checks[table] for problem in check.types.problems),
        {table: sum(check.types.rows for check in checks[table]) for table in LOAD_ORDER},
    )
    for table in LOAD_ORDER:
        sentences += delivery_types.unlike_parts(table, [(f"s3://{settings.bucket}/{part.key}", check.columns) for part, check in zip(parts[table], checks[table])])
    if sentences:
        raise DataPipelineError(f"Data Pipeline run {run} is refused and the warehouse left as it was: {'; '.join(sentences)}")


def _refuse_repeated_ids(checks: list[_PartCheck], files: _TableFiles, connection: duckdb.DuckDBPyConnection, run: str) -> None:
    """A full delivery holds each balance transaction once; a repeat means a broken export. Sorting
    the ids' 64-bit hashes finds a repeat several times faster than DuckDB's distinct count of them
    (and far faster than of the strings); only a repeated hash makes the ids themselves compared
    (to name them, and to rule out a hash collision)."""
    hashes = np.sort(np.concatenate([check.id_hashes for check in checks]))
    if not (hashes[1:] == hashes[:-1]).any():
        return
    repeated = connection.execute(f"select id from {files.source()} group by id having count(*) > 1 order by id limit 3").fetchall()
    if repeated:
        raise DataPipelineError(f"run {run} holds balance transaction {', '.join(r[0] for r in repeated)} more than once in {BALANCE_TRANSACTIONS}")


def _payout_links_sql(transactions: _TableFiles, loaded: str) -> str:
    """Payout contents from `automatic_transfer_id`, for the payouts Stripe itemizes (the API lists
    only those); without the column the export cannot say what a payout contained: no links."""
    payout_of = transactions.optional("automatic_transfer_id")
    return (
        f"select {payout_of} as payout_id, id as balance_transaction_id, {transactions.optional('merchant_id')} as stripe_account_id, "
        f"'{SOURCE}' as _source, {loaded} as _loaded_at "
        f"from {transactions.source()} where {payout_of} in "
        f"(select id from {warehouse.RAW_SCHEMA}.stripe_payouts where not_itemizable_reason is null)"
    )


def _source_object_rows(settings: DataPipelineSettings, s3: Any, run: str, connection: duckdb.DuckDBPyConnection,
                        loaded: str) -> dict[str, pa.Table]:
    """The run's source-object tables (charges, invoices and their lines, ...: `source_tables`), as raw rows.

    They are optional (a delivery from before them, or an account without invoices, has none) and
    copied into the warehouse rather than read in place: they are far smaller than the balance
    transactions, and their files hold personal data, which is dropped here (unless allowlisted)
    and must not stay on disk, so they download to a folder removed after reading."""
    found = {}
    with tempfile.TemporaryDirectory(prefix=f"{run}-sources-") as folder:
        parts = {table: [S3Object(key, size, Path(folder) / table.delivered_name / f"{number:06d}.parquet")
                         for number, (key, size) in enumerate(k for k in _keys(s3, settings.bucket, settings.table_prefix(run, table.delivered_name))
                                                              if k[0].endswith(".parquet"))]
                 for table in source_tables.TABLES}
        with ParallelDownload(s3, settings.bucket, [part for table_parts in parts.values() for part in table_parts]) as download:
            for table, table_parts in parts.items():
                if not table_parts:
                    continue
                download.wait(table_parts)
                files = _checked_files(settings, table.delivered_name, table_parts)
                try:
                    found[table.name] = connection.sql(_source_table_sql(table, files, settings.personal_data, loaded)).to_arrow_table()
                except duckdb.Error as error:
                    keys = ", ".join(f"s3://{settings.bucket}/{part.key}" for part in table_parts)
                    raise DataPipelineError(f"Data Pipeline run {run} is refused and the warehouse left as it was: table "
                                            f"{table.delivered_name} ({keys}) cannot land in raw.{table.name}: {error}") from None
    return found


def _source_table_sql(table: source_tables.Table, files: _TableFiles, allowed: frozenset[str], loaded: str) -> str:
    """The raw columns of `table` from its delivered files: absent columns and personal ones not allowed are null."""
    listed = []
    for column in table.columns:
        kept = files.has(column.name) and (not column.personal or f"{table.name}.{column.name}" in allowed)
        value = (files.timestamp(column.name) if column.sql_type == "timestamp" else f"cast({column.name} as {column.sql_type})") if kept else "null"
        listed.append(f"cast({value} as {column.sql_type}) as {column.name}")
    return (f"select {', '.join(listed)}, {files.optional('merchant_id')} as stripe_account_id, '{SOURCE}' as _source, {loaded} as _loaded_at "
            f"from {files.source()}" + (f" where {table.delivered_rows}" if table.delivered_rows else ""))


def deliveries_folder(connection: duckdb.DuckDBPyConnection) -> Path:
    """Where the warehouse keeps its delivery's files: beside the DuckDB file, as part of it."""
    [(path,)] = connection.execute("select path from duckdb_databases() where database_name = current_database()").fetchall()
    if not path:
        raise DataPipelineError("an in-memory warehouse cannot keep a Data Pipeline delivery: pass a folder for its files")
    return Path(path).with_name(Path(path).name + ".data_pipeline")


def load_newest_run(settings: DataPipelineSettings, connection: duckdb.DuckDBPyConnection, s3: Any | None = None,
                    deliveries: Path | None = None, force: bool = False) -> DataPipelineStats:
    """Load the newest complete run unless it is already loaded (or `force`), all tables in one transaction.

    The run's parquet files are downloaded (on threads, checked as they land) into a folder of
    their own under `deliveries` (default: beside the warehouse file) and become the delivered part
    of the raw tables (`warehouse.deliver`): every file is read once to check it, nothing is copied.
    Payouts, the balance snapshot and the cursor are written as rows. At the commit the folder of the
    delivery before is removed; on any error the new folder is, and the warehouse is as it was.
    """
    started = time.perf_counter()
    s3 = s3 or settings.s3_client()
    newest = newest_complete_run(settings, s3)
    cursor = warehouse.read_cursor(connection, STREAM)
    if not force and cursor is not None and cursor.replace(tzinfo=timezone.utc) >= newest.time:
        return DataPipelineStats(newest.run, newest.time, loaded=False)
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    as_of = newest.time.replace(tzinfo=None)
    # The statements are built as text (file lists, optional columns): the load time goes in as a literal.
    loaded = f"timestamp '{loaded_at.isoformat(sep=' ')}'"
    root = deliveries or deliveries_folder(connection)
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{newest.run}-", dir=root))
    try:
        parts = _parts(settings, s3, newest.run, folder)
        checked = {table: progress.step(f"data_pipeline {table}", "file", len(parts[table]), f"Data Pipeline {table}") for table in LOAD_ORDER}
        with ParallelDownload(s3, settings.bucket, [part for table in LOAD_ORDER for part in parts[table]]) as download:
            targets = _landing_targets(connection)
            with ThreadPoolExecutor(CHECK_WORKERS, thread_name_prefix="parquet-check") as pool:
                pending = {table: [pool.submit(_check_when_landed, connection, download, settings, table, part, as_of, targets[table], checked[table])
                                   for part in parts[table]]
                           for table in LOAD_ORDER}
                try:
                    checks = {table: [future.result() for future in futures] for table, futures in pending.items()}
                    for step in checked.values():
                        step.finish()
                    _refuse_what_cannot_land(newest.run, settings, parts, checks)
                    files = {table: _checked_files(settings, table, parts[table]) for table in LOAD_ORDER}
                    _refuse_repeated_ids(checks[BALANCE_TRANSACTIONS], files[BALANCE_TRANSACTIONS], connection, newest.run)
                    payouts = _payout_objects(connection, files[TRANSFERS])
                except duckdb.Error as error:
                    raise _locate_corrupt_file(connection, settings, parts, error) from error
                finally:
                    pool.shutdown(cancel_futures=True)
        payout_rows = stripe_records.payout_rows(payouts, SOURCE, loaded_at).append_column(
            "stripe_account_id", pa.array([payout["stripe_account_id"] for payout in payouts], pa.string()))
        count, fee_count = (sum(check.rows for check in checks[table]) for table in (BALANCE_TRANSACTIONS, FEE_DETAILS))
        transactions = files[BALANCE_TRANSACTIONS]
        source_rows = _source_object_rows(settings, s3, newest.run, connection, loaded)
        with warehouse.transaction(connection):
            for table, rows in source_rows.items():
                warehouse.write_rows(connection, table, rows)
            warehouse.write_rows(connection, "stripe_payouts", payout_rows)
            warehouse.deliver(connection, "stripe_balance_transactions", _balance_transactions_sql(transactions, loaded))
            warehouse.deliver(connection, "stripe_fee_details", _fee_details_sql(files[FEE_DETAILS], loaded))
            warehouse.deliver(connection, "stripe_payout_transactions", _payout_links_sql(transactions, loaded))
            [(link_count,)] = connection.execute(f"select count(*) from {warehouse.delivered_view('stripe_payout_transactions')}").fetchall()
            warehouse.write_rows(connection, "stripe_balance_snapshots", _snapshot(connection, (balance for check in checks[BALANCE_TRANSACTIONS] for balance in check.balances), as_of, loaded_at))
            warehouse.write_cursor(connection, STREAM, as_of)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    for earlier in root.iterdir():
        if earlier != folder:
            shutil.rmtree(earlier, ignore_errors=True)
    seconds = time.perf_counter() - started
    return DataPipelineStats(
        newest.run, newest.time, loaded=True, balance_transactions=count, fee_details=fee_count, payouts=payout_rows.num_rows,
        payout_transactions=link_count, payouts_not_itemized=sum(1 for payout in payouts if stripe_records.not_itemizable_reason(payout)),
        source_rows=sum(rows.num_rows for rows in source_rows.values()),
        objects=count + fee_count + payout_rows.num_rows, bytes_downloaded=sum(part.size for table in parts.values() for part in table),
        download_s=download.download_s, load_s=seconds - download.waited_s, seconds=seconds,
    )
