"""Ingestion from the Stripe API with the official `stripe` SDK: incremental, parallel, resumable.

A run covers a window on the `created` clock. The window is cut into time slices that worker
threads page through in parallel under one shared rate limit (`stripe_http`); the caller's thread
writes Arrow batches into DuckDB, each batch in its own transaction keyed by Stripe id, so a run
killed at any point leaves whole batches and a re-run replaces rather than duplicates.

Cursors (one per stream and account, in the warehouse) move to the window's end only after every
slice, the payouts and their links are in. The next incremental run starts `overlap_seconds` before
the cursor, because Stripe makes some balance transactions visible a little after their `created`
time (reference/stripe.md 8.9). Payouts change after they are created (`paid`, then `failed`
days later), so every run re-reads the payouts created or arriving within `payout_lookback_days`.

Stripe's balance (`GET /v1/balance`) is the balance now, not at the window's end. Each run reads it
first and stamps it with the time Stripe answered (the response's `Date`); it is recorded only when
the window reaches that moment, so that every transaction it sums is landed: a run up to now (or
ending within `overlap_seconds` of it, which the run then stretches to the moment of the read)
records it; a backfill of past days does not, and the balance proofs keep using the latest snapshot
the ledger covers.

A Connect platform lists the accounts to read (`accounts`); each is read in turn through the SDK's
`stripe_account` option (the `Stripe-Account` header), and every row carries `stripe_account_id`,
which the ledger maps to an entity. Without a list, the key's own account is read, as always.

The key's own account id stamps its rows and nothing else (Stripe's balance transactions and
payouts do not carry it; cursors of the key's own account are named without it). It comes from
settings (`account_id`, STRIPE_ACCOUNT_ID), else from `GET /v1/account`; a key refused that
endpoint (a restricted key without the permission, a proxy that does not forward it) still
ingests: its rows carry no account, which books them to the default entity, and the run says so.

Source objects (STRIPE_SOURCE_OBJECTS) ride in the same pool: charges, refunds, disputes and Connect
transfers expanded from the balance transaction pages or listed, invoices and the rest listed by
window, the catalog whole; then, by id, the charges refunds name from before the window and the
Stripe Tax transactions charges name in their metadata (Stripe lists none).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import duckdb
import pyarrow as pa
import stripe

from ledger import progress, warehouse
from ledger.sources import source_tables, stripe_records
from ledger.sources.parallel import run_jobs
from ledger.sources.rate_limiter import RateLimiter
from ledger.sources.stripe_http import RetryPolicy, StripeAccessDenied, StripeFetcher
from ledger.sources.stripe_permissions import ENDPOINTS
from ledger.sources.telemetry import RequestTelemetry

DEFAULT_API_BASE = "https://api.stripe.com"
SOURCE = "api"
STREAMS = ("balance_transactions", "payouts")
# How run metadata names the key's own account when its id is not known (GET /v1/account refused).
OWN_ACCOUNT_UNKNOWN = "(the key's own account)"
# Objects converted to Arrow per worker hand-off: large enough to amortize, small enough to bound memory.
CONVERT_ROWS = 2_000
# Converted pages waiting for the writer, per worker: enough that the workers keep fetching while it
# commits a batch (about 3 s for 50,000 rows of source objects on a busy machine), few enough to bound memory.
QUEUED_PAGES_PER_WORKER = 16
# How source objects are read (STRIPE_SOURCE_OBJECTS): `expand` (the default) takes charges, refunds and
# disputes from the balance transaction pages (`expand[]=data.source`) and lists the rest by `created`
# window; `list` lists every resource; `off` reads none. Measured against a binding rate limit, `expand`
# needs a fifth fewer requests and stays nearer the bound (docs/ingestion.md).
SOURCE_MODES = ("expand", "list", "off")
# Resources listed by `created` window: those about as many as the charges in the balance
# transactions' slices, the rarer ones (a few percent of charges) in slices `workers` times longer,
# so that their pages are full; the catalog is listed whole every run (a few pages).
WINDOWED_RESOURCES = ("charges", "refunds", "disputes", "invoices", "invoice_payments", "credit_notes", "transfers")
RARE_RESOURCES = ("refunds", "disputes", "credit_notes", "transfers")
EXPANDED_RESOURCES = {"charge": "charges", "refund": "refunds", "dispute": "disputes", "transfer": "transfers"}
CATALOG_RESOURCES = ("products", "prices", "tax_rates")


@dataclass(frozen=True)
class StripeApiSettings:
    api_key: str = field(repr=False)
    api_base: str = DEFAULT_API_BASE
    # Stripe allows 100 requests/s in live mode and 25/s in test mode; stay under it by default.
    max_requests_per_second: float = 25.0
    workers: int = 8
    slice_seconds: int = 86_400
    overlap_seconds: int = 600
    payout_lookback_days: int = 14
    batch_rows: int = 50_000
    request_timeout_s: float = 30.0
    retry: RetryPolicy = RetryPolicy()
    # Stripe accounts to read (a Connect platform's connected accounts, through `Stripe-Account`);
    # empty: the key's own account.
    accounts: tuple[str, ...] = ()
    # The key's own account id, if known (STRIPE_ACCOUNT_ID): spares `GET /v1/account`.
    account_id: str | None = None
    source_objects: str = "expand"
    # Personal-data columns to store anyway (`table.column`, CLOSE_PERSONAL_DATA_ALLOWLIST); none by default.
    personal_data: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.source_objects not in SOURCE_MODES:
            raise ValueError(f"source_objects {self.source_objects!r} is not one of {', '.join(SOURCE_MODES)}")

    def client(self) -> stripe.StripeClient:
        if not self.api_key:
            raise ValueError("STRIPE_API_KEY is empty: set a (restricted, read-only) Stripe API key")
        return stripe.StripeClient(
            self.api_key,
            base_addresses={"api": self.api_base},
            http_client=stripe.RequestsClient(timeout=self.request_timeout_s),
            # Retries are ours (stripe_http): the SDK's skip plain 429s.
            max_network_retries=0,
        )

    def fetcher(self, telemetry: RequestTelemetry, stripe_account: str | None = None) -> StripeFetcher:
        return StripeFetcher(self.client(), RateLimiter(self.max_requests_per_second), self.retry, telemetry, stripe_account)

    @property
    def cursor_streams(self) -> list[str]:
        """Every cursor a run of these settings moves."""
        return [warehouse.account_stream(stream, account) for account in self.accounts or (None,) for stream in STREAMS]


@dataclass(frozen=True)
class Window:
    """Half-open UTC interval [start, end) on Stripe's `created` clock."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware (UTC)")
        if self.end <= self.start:
            raise ValueError(f"window end {self.end.isoformat()} is not after its start {self.start.isoformat()}")

    @property
    def created_filter(self) -> dict[str, int]:
        return {"gte": int(self.start.timestamp()), "lt": int(self.end.timestamp())}

    def slices(self, seconds: int) -> list["Window"]:
        count = max(1, math.ceil((self.end - self.start).total_seconds() / seconds))
        bounds = [min(self.end, self.start + timedelta(seconds=seconds * index)) for index in range(count + 1)]
        return [Window(low, high) for low, high in zip(bounds, bounds[1:]) if high > low]


def plan_window(connection: duckdb.DuckDBPyConnection, settings: StripeApiSettings, start: datetime | None, end: datetime | None,
                now: datetime, first_run_days: int) -> Window:
    """The window of the next run: from `start` if given (a backfill), else from the oldest stream
    cursor minus the overlap, else (first run) the last `first_run_days` days; up to `end` or now."""
    end = min(end or now, now)
    if start is None:
        cursors = [warehouse.read_cursor(connection, stream) for stream in settings.cursor_streams]
        if all(cursors):
            start = min(cursors).replace(tzinfo=timezone.utc) - timedelta(seconds=settings.overlap_seconds)
        else:
            start = end - timedelta(days=first_run_days)
    return Window(start, end)


@dataclass
class IngestStats:
    balance_transactions: int = 0
    fee_details: int = 0
    payouts: int = 0
    payout_transactions: int = 0
    payouts_not_itemized: int = 0
    # Rows landed per source-object table (stripe_charges, stripe_invoice_line_items, ...).
    source_rows: dict[str, int] = field(default_factory=dict)
    # Per account, when Stripe's balance was read, if the window reached that moment and it was recorded.
    # The key's own account is OWN_ACCOUNT_UNKNOWN when its id is not known.
    balance_snapshots: dict[str, datetime] = field(default_factory=dict)
    telemetry: RequestTelemetry = field(default_factory=RequestTelemetry)
    # What the run could not do as asked but worked around, in words for the user.
    warnings: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return self.telemetry.requests

    @property
    def request_ids_failed(self) -> list[str]:
        return self.telemetry.failed_request_ids

    @property
    def seconds(self) -> float:
        return self.telemetry.elapsed_s

    def as_metadata(self) -> dict[str, Any]:
        return {
            "balance_transactions": self.balance_transactions,
            "fee_details": self.fee_details,
            "payouts": self.payouts,
            "payout_transactions": self.payout_transactions,
            "payouts_not_itemized": self.payouts_not_itemized,
            "source_rows": dict(sorted(self.source_rows.items())),
            "balance_snapshots": {account: as_of.isoformat() for account, as_of in self.balance_snapshots.items()},
            **self.telemetry.summary(),
            "warnings": list(self.warnings),
        }


def ingest(settings: StripeApiSettings, connection: duckdb.DuckDBPyConnection, window: Window, now: datetime | None = None) -> IngestStats:
    """Land the window's Stripe data of every configured account (`settings.accounts`, else the
    key's own), one account after the other, each row stamped with its account."""
    stats = IngestStats(telemetry=RequestTelemetry(configured_rate_per_s=settings.max_requests_per_second))
    own_fetcher = settings.fetcher(stats.telemetry)
    own_account = settings.account_id or _own_account_id(own_fetcher)
    if own_account is None and not settings.accounts:
        stats.warnings.append(
            f"GET /v1/account refused (HTTP 403): the key lacks {ENDPOINTS['/v1/account'][0]}, so the key's own account is not known; "
            "its rows carry no stripe_account_id and book to the default entity (CLOSE_ENTITY_ID). Set STRIPE_ACCOUNT_ID=acct_... to stamp them."
        )
    for configured in settings.accounts or (None,):
        # The key's own account is read without `Stripe-Account`, whether listed or not.
        connected = configured if configured not in (None, own_account) else None
        fetcher = settings.fetcher(stats.telemetry, connected) if connected else own_fetcher
        _ingest_account(settings, connection, window, now, fetcher, _AccountRun(connected or own_account, configured), stats)
    stats.telemetry.finish()
    return stats


def _own_account_id(fetcher: StripeFetcher) -> str | None:
    """The key's own account id from `GET /v1/account`, or None if the key may not read it: only
    the stamp on its rows needs the id (with STRIPE_ACCOUNT_IDS set and the id unknown, every listed
    account is read with `Stripe-Account`, and stamped with its id)."""
    try:
        return fetcher.fetch("/v1/account", {})["id"]
    except StripeAccessDenied as refused:
        if refused.status != 403:
            raise
        return None


@dataclass(frozen=True)
class _AccountRun:
    """Which account a pass reads: its id (stamped on every row; None when the key's own account
    is not known) and the name its cursors carry."""

    account_id: str | None
    configured: str | None

    def stream(self, stream: str) -> str:
        return warehouse.account_stream(stream, self.configured)

    def described(self, what: str) -> str:
        """`what`, naming the account when several are read."""
        return f"{what} of {self.configured}" if self.configured else what


def _ingest_account(settings: StripeApiSettings, connection: duckdb.DuckDBPyConnection, window: Window, now: datetime | None,
                    fetcher: StripeFetcher, account: _AccountRun, stats: IngestStats) -> None:
    """Land one account's balance transactions, recent payouts, payout contents and, if the window
    reaches the present, its balance; then advance its stream cursors to the window's end (never
    past the present). The present is Stripe's clock (the balance response's `Date`), else `now`,
    else this machine's clock.

    The balance is read first, so every transaction it includes was created before the window's
    end. Payouts are listed next (a few requests); then the balance transaction slices and the payout
    contents run as one pool of jobs under the shared rate limit, so no phase waits for another's tail.
    """
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    stamp = functools.partial(stripe_records.with_account, stripe_account_id=account.account_id)
    balance, answered_at = fetcher.fetch_dated("/v1/balance", {})
    read_at = answered_at or now or datetime.now(timezone.utc)
    reaches_read = window.end >= read_at - timedelta(seconds=settings.overlap_seconds)
    if reaches_read and window.end < read_at:
        window = Window(window.start, read_at)

    listed = progress.step(account.stream("payouts"), "payout", description=account.described("Stripe payouts"))
    payouts = _read_payouts(fetcher, settings, window)
    listed.advance(len(payouts))
    listed.finish()
    stats.payouts += warehouse.upsert(connection, "stripe_payouts", stamp(stripe_records.payout_rows(payouts, SOURCE, loaded_at)))
    to_link = _payouts_to_link(connection, payouts, stats)
    slices = _slices(window, settings)
    fetched = progress.step(account.stream("balance_transactions"), "slice", len(slices), account.described("Stripe balance transactions"))
    linked = progress.step(account.stream("payout_transactions"), "payout", len(to_link), account.described("Stripe payout contents"))
    expand = settings.source_objects == "expand"
    to_rows = _SourceRows(settings.personal_data, loaded_at, stamp)
    jobs = ([_slice_job(fetcher, part, loaded_at, stamp, fetched, to_rows if expand else None) for part in slices]
            + [_links_job(fetcher, payout_id) for payout_id in to_link] + _source_jobs(fetcher, settings, slices, to_rows))
    transactions = _TransactionBatches(connection, settings.batch_rows, stats)
    sources = _SourceBatches(connection, settings.batch_rows, stats)
    for kind, item in run_jobs(jobs, settings.workers, queue_size=settings.workers * QUEUED_PAGES_PER_WORKER):
        if kind == "transactions":
            transactions.add(item)
        elif kind == "sources":
            sources.add(item)
        elif kind == "refused":
            _note_refusal(stats, item)
        else:
            linked.advance()
            payout_id, transaction_ids = item
            links = [(payout_id, txn_id) for txn_id in transaction_ids]
            # Whole per payout (one transaction), so a payout with links has all of them.
            stats.payout_transactions += warehouse.upsert(
                connection, "stripe_payout_transactions", stamp(stripe_records.payout_transaction_rows(links, SOURCE, loaded_at)),
            )
    transactions.flush()
    sources.flush()
    if settings.source_objects != "off":
        sources.add(to_rows("charges", _referenced_charges(connection, fetcher, account.account_id)))
        sources.flush()
        tax_jobs = _tax_transaction_jobs(connection, fetcher, account.account_id, to_rows)
        for kind, item in run_jobs(tax_jobs, settings.workers, queue_size=settings.workers * 2):
            if kind == "sources":
                sources.add(item)
            elif kind == "refused":
                _note_refusal(stats, item)
            else:
                stats.warnings.append(item)
        sources.flush()
    for finished in (fetched, linked):
        finished.finish()

    if reaches_read:
        as_of = stats.balance_snapshots[account.account_id or OWN_ACCOUNT_UNKNOWN] = _naive_utc(read_at)
        warehouse.upsert(connection, "stripe_balance_snapshots", stamp(stripe_records.balance_snapshot_rows(balance, as_of, SOURCE, loaded_at)))
    position = _naive_utc(min(window.end, read_at))
    warehouse.advance_cursors(connection, {account.stream(stream): position for stream in STREAMS})


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _slices(window: Window, settings: StripeApiSettings) -> list[Window]:
    """At most `slice_seconds` long, and at least four per worker so that the last slices to
    finish leave few workers idle."""
    seconds = min(settings.slice_seconds, (window.end - window.start).total_seconds() / (4 * settings.workers))
    return window.slices(max(60, int(seconds)))


def _slice_job(fetcher: StripeFetcher, part: Window, loaded_at: datetime, stamp: Callable[[pa.Table], pa.Table], fetched: progress.Step,
               expanded_to_rows: "_SourceRows | None" = None) -> Callable[[], Iterator[tuple[str, Any]]]:
    """The slice's balance transactions; with `expanded_to_rows`, their charges, refunds and disputes
    too (`expand[]=data.source`), as raw rows."""
    def converted(objects: list[dict[str, Any]]) -> tuple[pa.Table, pa.Table]:
        transactions, fee_details = stripe_records.balance_transaction_rows(objects, SOURCE, loaded_at)
        return stamp(transactions), stamp(fee_details)

    def expanded(objects: list[dict[str, Any]]) -> Iterator[tuple[str, Any]]:
        by_resource: dict[str, list[dict[str, Any]]] = {}
        for transaction in objects:
            source = transaction.get("source")
            if isinstance(source, dict) and source.get("object") in EXPANDED_RESOURCES:
                by_resource.setdefault(EXPANDED_RESOURCES[source["object"]], []).append(source)
        for resource, sources in by_resource.items():
            yield "sources", expanded_to_rows(resource, sources)

    params: dict[str, Any] = {"created": part.created_filter, **({"expand": ["data.source"]} if expanded_to_rows else {})}

    def job() -> Iterator[tuple[str, Any]]:
        buffer: list[dict[str, Any]] = []
        for page in fetcher.pages("/v1/balance_transactions", params):
            fetched.advance(0, object=len(page), page=1)
            buffer.extend(page)
            if len(buffer) >= CONVERT_ROWS:
                yield from expanded(buffer) if expanded_to_rows else ()
                yield "transactions", converted(buffer)
                buffer = []
        if buffer:
            yield from expanded(buffer) if expanded_to_rows else ()
            yield "transactions", converted(buffer)
        fetched.advance()
    return job


@dataclass(frozen=True)
class _SourceRows:
    """Source objects of one resource to raw rows, in the worker that fetched them."""

    personal_data: frozenset[str]
    loaded_at: datetime
    stamp: Callable[[pa.Table], pa.Table]

    def __call__(self, resource: str, objects: list[dict[str, Any]]) -> dict[str, pa.Table]:
        tables = source_tables.rows(resource, objects, SOURCE, self.loaded_at, self.personal_data)
        return {table: self.stamp(rows) for table, rows in tables.items()}


def _source_jobs(fetcher: StripeFetcher, settings: StripeApiSettings, slices: list[Window],
                 to_rows: _SourceRows) -> list[Callable[[], Iterator[tuple[str, Any]]]]:
    """Jobs listing the source objects: each windowed resource slice by slice, the catalog whole."""
    if settings.source_objects == "off":
        return []
    windowed = [r for r in WINDOWED_RESOURCES if settings.source_objects != "expand" or r not in EXPANDED_RESOURCES.values()]

    def listing(resource: str, params: dict[str, Any]) -> Callable[[], Iterator[tuple[str, Any]]]:
        def job() -> Iterator[tuple[str, Any]]:
            try:
                for page in fetcher.pages(f"/v1/{resource}", params):
                    yield "sources", to_rows(resource, page)
            except StripeAccessDenied as refused:
                # A key without a source permission still lands the books; the run says what it lacks.
                if refused.status != 403:
                    raise
                yield "refused", str(refused)
        return job
    rare_slices = [Window(group[0].start, group[-1].end) for group in
                   (slices[start:start + settings.workers] for start in range(0, len(slices), settings.workers))]
    return ([listing(resource, {"created": part.created_filter})
             for resource in windowed for part in (rare_slices if resource in RARE_RESOURCES else slices)]
            + [listing(resource, {}) for resource in CATALOG_RESOURCES])


class _SourceBatches:
    """Collects source rows and writes them `batch_rows` at a time, every table of a batch in one
    transaction (one writer thread: a transaction per page cost more than the requests)."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, batch_rows: int, stats: IngestStats) -> None:
        self._connection = connection
        self._batch_rows = batch_rows
        self._stats = stats
        self._pending: dict[str, list[pa.Table]] = {}
        self._rows = 0

    def add(self, tables: dict[str, pa.Table]) -> None:
        for table, rows in tables.items():
            self._pending.setdefault(table, []).append(rows)
            self._rows += rows.num_rows
        if self._rows >= self._batch_rows:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        with warehouse.transaction(self._connection):
            for table, parts in self._pending.items():
                written = warehouse.write_rows(self._connection, table, pa.concat_tables(parts))
                self._stats.source_rows[table] = self._stats.source_rows.get(table, 0) + written
        self._pending, self._rows = {}, 0


def _referenced_charges(connection: duckdb.DuckDBPyConnection, fetcher: StripeFetcher, account_id: str | None) -> list[dict[str, Any]]:
    """Charges that landed refunds and disputes name but no listing brought: created before any window
    read (a refund today of last year's charge), read by id."""
    missing = [row[0] for row in connection.execute(
        "select distinct charge_id from (select charge_id, stripe_account_id from raw.stripe_refunds "
        "union all select charge_id, stripe_account_id from raw.stripe_disputes) "
        "where charge_id is not null and stripe_account_id is not distinct from ? and charge_id not in (select id from raw.stripe_charges) order by 1",
        [account_id],
    ).fetchall()]
    return [fetcher.fetch(f"/v1/charges/{charge_id}", {}) for charge_id in missing]


def _note_refusal(stats: IngestStats, refused: str) -> None:
    """A source endpoint the key may not read: the books still land; the run says what it lacks, once."""
    refusal = f"source objects skipped: {refused.split('; request id')[0]}"
    if refusal not in stats.warnings:
        stats.warnings.append(refusal)


def _tax_transaction_jobs(connection: duckdb.DuckDBPyConnection, fetcher: StripeFetcher, account_id: str | None,
                          to_rows: _SourceRows) -> list[Callable[[], Iterator[tuple[str, Any]]]]:
    """Jobs reading the Stripe Tax transactions landed charges name (`TAX_TRANSACTION_KEY`: the sale's
    transaction) and landed refunds name (the same key in their metadata: the reversal recording the
    refund's tax) and not landed yet, one by id each, with their line items (`expand[]=line_items`,
    then paged if more). The metadata is the merchant's own text: an id Stripe does not know is a
    warning, not a stop."""
    missing = [tuple(row) for row in connection.execute(
        "select value, min(named_by) from ("
        "select value, 'charge ' || charge_id as named_by, stripe_account_id from raw.stripe_charge_metadata where key = ? "
        "union all select json_extract_string(metadata, '$.' || ?), 'refund ' || id, stripe_account_id from raw.stripe_refunds"
        ") where value is not null and stripe_account_id is not distinct from ? "
        "and value not in (select id from raw.stripe_tax_transactions) group by value order by 1",
        [source_tables.TAX_TRANSACTION_KEY, source_tables.TAX_TRANSACTION_KEY, account_id],
    ).fetchall()]

    def read(transaction_id: str, named_by: str) -> Iterator[tuple[str, Any]]:
        try:
            transaction = fetcher.fetch(f"/v1/tax/transactions/{transaction_id}", {"expand": ["line_items"]})
            lines = transaction["line_items"]
            if lines["has_more"]:
                lines["data"] = [line for page in fetcher.pages(f"/v1/tax/transactions/{transaction_id}/line_items", {}) for line in page]
        except StripeAccessDenied as refused:
            if refused.status != 403:
                raise
            yield "refused", str(refused)
            return
        except stripe.InvalidRequestError as unknown:
            if unknown.http_status != 404:
                raise
            yield "unknown", (f"{named_by} names Stripe Tax transaction {transaction_id!r} in its metadata "
                              f"({source_tables.TAX_TRANSACTION_KEY}), which Stripe does not know (HTTP 404): its tax is not landed")
            return
        yield "sources", to_rows("tax_transactions", [transaction])

    return [lambda transaction_id=transaction_id, named_by=named_by: read(transaction_id, named_by) for transaction_id, named_by in missing]


def _links_job(fetcher: StripeFetcher, payout_id: str) -> Callable[[], Iterator[tuple[str, Any]]]:
    def job() -> Iterator[tuple[str, Any]]:
        yield "links", (payout_id, [txn["id"] for page in fetcher.pages("/v1/balance_transactions", {"payout": payout_id}) for txn in page])
    return job


class _TransactionBatches:
    """Collects converted pages and writes them `batch_rows` at a time, each batch with its fee
    details in one transaction. Stripe never edits a balance transaction's amounts or fees (only
    `status` moves with time), so fee details are upserted by position, never shrunk."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, batch_rows: int, stats: IngestStats) -> None:
        self._connection = connection
        self._batch_rows = batch_rows
        self._stats = stats
        self._pending: list[tuple[pa.Table, pa.Table]] = []
        self._rows = 0

    def add(self, converted: tuple[pa.Table, pa.Table]) -> None:
        self._pending.append(converted)
        self._rows += converted[0].num_rows
        if self._rows >= self._batch_rows:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        transactions = pa.concat_tables([t for t, _ in self._pending])
        fee_details = pa.concat_tables([f for _, f in self._pending])
        self._stats.balance_transactions += warehouse.upsert_tables(
            self._connection, {"stripe_balance_transactions": transactions, "stripe_fee_details": fee_details},
        )
        self._stats.fee_details += fee_details.num_rows
        self._pending, self._rows = [], 0


def _read_payouts(fetcher: StripeFetcher, settings: StripeApiSettings, window: Window) -> list[dict[str, Any]]:
    """Payouts created in the window or the lookback before it, and those arriving since then:
    a payout can turn `failed` days after it was `paid`, so recent ones are read again each run.
    Never one created after the window: it holds transactions the window does not land, and its
    contents would break the payout proof of a backfill that ends before now."""
    since = int((window.start - timedelta(days=settings.payout_lookback_days)).timestamp())
    listings = [
        {"created": {"gte": since, "lt": window.created_filter["lt"]}},
        {"arrival_date": {"gte": since}, "created": {"lt": window.created_filter["lt"]}},
    ]
    jobs = [lambda params=params: fetcher.pages("/v1/payouts", params) for params in listings]
    by_id = {payout["id"]: payout for page in run_jobs(jobs, settings.workers, queue_size=settings.workers * 2) for payout in page}
    return sorted(by_id.values(), key=lambda payout: (payout["created"], payout["id"]))


def _payouts_to_link(connection: duckdb.DuckDBPyConnection, payouts: list[dict[str, Any]], stats: IngestStats) -> list[str]:
    """Itemizable payouts whose contents are not landed yet. Once Stripe completes a payout's
    reconciliation its contents are final, so they are listed once per payout."""
    itemizable = [p["id"] for p in payouts if stripe_records.not_itemizable_reason(p) is None]
    stats.payouts_not_itemized += len(payouts) - len(itemizable)
    if not itemizable:
        return []
    linked = {
        row[0] for row in connection.execute(
            "select distinct payout_id from raw.stripe_payout_transactions where payout_id in (select unnest(?))", [itemizable],
        ).fetchall()
    }
    return [payout_id for payout_id in itemizable if payout_id not in linked]
