"""The sandbox Stripe API: Stripe's list semantics over HTTP on loopback, backed by a simulated world.

Served: `GET /v1/balance_transactions` (filters `created[gt|gte|lt|lte]`, `payout`, `type`,
`currency`; `expand[]=data.source` puts each source object in place of its id), `GET
/v1/balance_transactions/{id}`, `GET /v1/payouts` (filters `created`, `arrival_date`, `status`),
`GET /v1/payouts/{id}`, `GET /v1/balance`, `GET /v1/account`, and the source objects of
`sandbox.sales` (charges, refunds, disputes, invoices with their lines, invoice payments, credit
notes with theirs, products, prices, tax rates, Connect transfers): list (filter `created`) and
retrieve by id; Stripe Tax transactions (`GET /v1/tax/transactions/{id}`, their lines inline) by id
only, as Stripe serves them. Their sales detail is built once per world, by the first request that
needs it (requests arriving meanwhile wait for that build) or before serving (`build_sources`). The
`Stripe-Account` header acts as a connected account (a world of its own); an account the key
cannot reach is refused as Stripe does (403). Lists are newest first with
`limit` (1-100, default 10), `starting_after`, `ending_before`, `has_more` and `url`, exactly as
the real stripe SDK expects when it pages. Errors use Stripe's JSON shape; a missing or wrong
bearer key gets 401. Every response carries a `Request-Id`.

The server has a clock: objects created after it are not visible yet, payouts show the status
they have at that time, and every response's `Date` header tells it (as Stripe's tells its own). Tests move the clock to watch a payout go `paid` then `failed`.

`ServerBehaviour` makes it behave like Stripe under load: a latency per request, a per-key rate
limit and a per-key-and-endpoint one, each answered with 429 and its `Stripe-Rate-Limited-Reason`
(`global-rate`, `endpoint-rate`; a `Retry-After` only when asked), bursts of injected 429s (lock timeouts, with
`Stripe-Should-Retry: true`) and 5xx, and balance transactions that become visible only some
time after their `created` (Stripe's listing lag, the reason ingestion re-reads an overlap). It also
acts as a restricted key that lacks some permissions: the endpoints in `refused_endpoints` answer
403 with the body Stripe sends a restricted key, naming the `rak_...` permission that would allow it.
"""

from __future__ import annotations

import bisect
import random
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Mapping, Sequence
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import orjson

from sandbox import stripe_objects
from sandbox.merchant import OWN_ACCOUNT_ID, World
from sandbox.sales import sales

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
SCAN_CHUNK = 2_048
RANGE_OPERATORS = ("gt", "gte", "lt", "lte")


class StripeError(Exception):
    def __init__(self, status: int, message: str, error_type: str = "invalid_request_error", param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.headers: dict[str, str] = {}
        self.body = {"error": {"message": message, "type": error_type}}
        if param:
            self.body["error"]["param"] = param
        if code:
            self.body["error"]["code"] = code


@dataclass(frozen=True)
class ServerBehaviour:
    """How far the sandbox departs from an idle, instant Stripe. The defaults are an ideal server."""

    latency_s: float = 0.0
    # Share of requests that start a burst of injected errors, and how long a burst lasts.
    failure_rate: float = 0.0
    failure_statuses: tuple[int, ...] = (429, 500, 503)
    burst_length: int = 1
    # Per API key, like Stripe's global limit (100/s live, 25/s test); None for no limit, 0 for a
    # budget other integrations have spent (every request refused).
    rate_limit_per_second: float | None = None
    # Per API key and endpoint (`/v1/balance_transactions`, ids aside), like Stripe's per-endpoint limit.
    endpoint_rate_limit_per_second: float | None = None
    # A `Retry-After` (seconds) on rate-limit 429s, as a proxy in front of Stripe may send; Stripe
    # documents none, so None sends none.
    rate_limit_retry_after_s: float | None = None
    # Endpoints the key may not read (a restricted key without the permission, a proxy that drops them).
    refused_endpoints: tuple[str, ...] = ()
    # Share of balance transactions that become listable only `late_seconds` after `created`.
    late_share: float = 0.0
    late_seconds: int = 0
    seed: int = 0


class _Faults:
    """Decides, request by request, whether to answer with an injected error or a rate-limit 429."""

    def __init__(self, behaviour: ServerBehaviour) -> None:
        self._behaviour = behaviour
        self._random = random.Random(behaviour.seed)
        self._burst_left = 0
        self._burst_status = 0
        self._lock = threading.Lock()
        # Per key: a token bucket holding one second of requests, and at least one request (a rate
        # below one a second admits one request, then one each 1/rate seconds).
        self._buckets: dict[str, tuple[float, float]] = {}

    def injected(self) -> int | None:
        with self._lock:
            if self._burst_left == 0 and self._random.random() < self._behaviour.failure_rate:
                self._burst_left = self._behaviour.burst_length
                self._burst_status = self._random.choice(self._behaviour.failure_statuses)
            if self._burst_left:
                self._burst_left -= 1
                return self._burst_status
            return None

    def rate_limited_reason(self, key: str, endpoint: str) -> str | None:
        """Stripe's `Stripe-Rate-Limited-Reason` if this request is over a limit, else None."""
        if self._over_limit(key, self._behaviour.rate_limit_per_second):
            return "global-rate"
        if self._over_limit(f"{key} {endpoint}", self._behaviour.endpoint_rate_limit_per_second):
            return "endpoint-rate"
        return None

    def _over_limit(self, bucket: str, rate: float | None) -> bool:
        if rate is None:
            return False
        if rate == 0:
            return True
        capacity = max(rate, 1.0)
        with self._lock:
            now = time.monotonic()
            tokens, last = self._buckets.get(bucket, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * rate)
            if tokens < 1:
                self._buckets[bucket] = (tokens, now)
                return True
            self._buckets[bucket] = (tokens - 1, now)
            return False


def _injected_error(status: int) -> "StripeError":
    if status == 429:
        error = StripeError(429, "This object cannot be accessed right now because another API request or Stripe process is currently accessing it.", code="lock_timeout")
        error.headers = {"Stripe-Should-Retry": "true"}
        return error
    return StripeError(status, "An unexpected error occurred. Retry the request.", error_type="api_error")


@dataclass(frozen=True)
class Query:
    """One list request's parameters, as Stripe reads them from the query string."""

    params: dict[str, str]

    def get(self, name: str) -> str | None:
        return self.params.get(name)

    def integer(self, name: str) -> int | None:
        value = self.params.get(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise StripeError(400, f"Invalid integer: {value}", param=name) from None

    def limit(self) -> int:
        limit = self.integer("limit")
        if limit is None:
            return DEFAULT_LIMIT
        if not 1 <= limit <= MAX_LIMIT:
            raise StripeError(400, f"Invalid limit: must be between 1 and {MAX_LIMIT}", param="limit")
        return limit

    def time_range(self, name: str) -> tuple[int | None, int | None]:
        """Inclusive [low, high] bounds from `name=ts` or `name[gt|gte|lt|lte]=ts`."""
        exact = self.integer(name)
        if exact is not None:
            return exact, exact
        low = high = None
        for operator in RANGE_OPERATORS:
            value = self.integer(f"{name}[{operator}]")
            if value is None:
                continue
            if operator == "gt":
                low = value + 1 if low is None else max(low, value + 1)
            elif operator == "gte":
                low = value if low is None else max(low, value)
            elif operator == "lt":
                high = value - 1 if high is None else min(high, value - 1)
            else:
                high = value if high is None else min(high, value)
        return low, high

    def expands(self, path: str) -> bool:
        """Whether `expand[]` (the SDK sends `expand[0]=...`) names `path`."""
        return any(name.startswith("expand") and value == path for name, value in self.params.items())

    def cursor(self) -> tuple[str | None, str | None]:
        after, before = self.get("starting_after"), self.get("ending_before")
        if after and before:
            raise StripeError(400, "You may only specify one of these parameters: starting_after, ending_before.")
        return after, before


def _cursor_position(positions: dict[str, int], after: str | None, before: str | None, what: str) -> int | None:
    """Where a page's `starting_after`/`ending_before` object stands, as Stripe refuses an unknown one."""
    cursor_id = after or before
    if cursor_id is None:
        return None
    if cursor_id not in positions:
        raise StripeError(400, f"No such {what}: '{cursor_id}'", param="starting_after" if after else "ending_before", code="resource_missing")
    return positions[cursor_id]


def _page(candidates: Sequence[int], matches: Callable[[np.ndarray], np.ndarray], cursor_position: int | None, backwards: bool, limit: int) -> tuple[list[int], bool]:
    """Up to `limit` matching positions after (or before) the cursor, plus whether more exist.

    `candidates` are ascending positions in newest-first order: a `range` for a `created` window,
    so that a page costs a few thousand comparisons however large the window, or an array.
    """
    if cursor_position is not None:
        cut = (bisect.bisect_left if backwards else bisect.bisect_right)(candidates, cursor_position)
        candidates = candidates[:cut] if backwards else candidates[cut:]
    if backwards:
        candidates = candidates[::-1]
    found: list[int] = []
    for start in range(0, len(candidates), SCAN_CHUNK):
        chunk = np.asarray(candidates[start:start + SCAN_CHUNK], dtype=np.int64)
        found.extend(chunk[matches(chunk)].tolist())
        if len(found) > limit:
            break
    has_more = len(found) > limit
    found = found[:limit]
    return (found[::-1] if backwards else found), has_more


class _ObjectList:
    """Objects of one resource as Stripe lists them: newest first, `created` filters, cursors, the clock."""

    def __init__(self, objects: list[dict[str, Any]], url: str) -> None:
        self._objects = sorted(objects, key=lambda item: (item["created"], item["id"]), reverse=True)
        self._position = {item["id"]: position for position, item in enumerate(self._objects)}
        self._created = np.array([item["created"] for item in self._objects], dtype=np.int64)
        self._url = url

    def get(self, object_id: str, clock: int) -> dict[str, Any] | None:
        position = self._position.get(object_id)
        return None if position is None or self._objects[position]["created"] > clock else self._objects[position]

    def page(self, query: Query, clock: int) -> dict[str, Any]:
        limit = query.limit()
        after, before = query.cursor()
        low, high = query.time_range("created")
        high = clock if high is None else min(high, clock)
        first = int(np.searchsorted(-self._created, -high, side="left"))
        last = len(self._created) if low is None else int(np.searchsorted(-self._created, -low, side="right"))
        cursor_position = _cursor_position(self._position, after, before, "object")
        found, has_more = _page(range(first, last), lambda chunk: np.ones(len(chunk), dtype=bool), cursor_position, before is not None, limit)
        return {"object": "list", "data": [self._objects[p] for p in found], "has_more": has_more, "url": self._url}


class SandboxStripe:
    """The data behind the API: a world, indexed for Stripe's filters, seen at `clock`."""

    def __init__(self, world: World, clock: int | None = None, late_share: float = 0.0, late_seconds: int = 0) -> None:
        self.world = world
        self.clock = world.as_of if clock is None else clock
        transactions = world.balance_transactions
        self._transactions = transactions
        self._created = transactions.column("created").to_numpy()
        # A fixed, spread-out subset of transactions is listed only `late_seconds` after `created`.
        spread = (np.arange(len(self._created), dtype=np.int64) * 2_654_435_761) % 1_000
        self._visible_at = self._created + np.where(spread < late_share * 1_000, late_seconds, 0)
        self._currency = transactions.column("currency").to_numpy(zero_copy_only=False)
        self._type = transactions.column("type").to_numpy(zero_copy_only=False)
        self._ids = transactions.column("id").to_pylist()
        self._position = {txn_id: position for position, txn_id in enumerate(self._ids)}
        payout_ids = transactions.column("automatic_payout_id").to_numpy(zero_copy_only=False)
        self._by_payout: dict[str, np.ndarray] = {}
        keys = np.array([payout or "" for payout in payout_ids], dtype=str)
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        boundaries = np.nonzero(np.r_[True, keys[1:] != keys[:-1], True])[0]
        for start, end in zip(boundaries[:-1], boundaries[1:]):
            if keys[start]:
                self._by_payout[str(keys[start])] = np.sort(order[start:end])
        self._payouts = sorted(world.payouts.to_pylist(), key=lambda row: (row["created"], row["id"]), reverse=True)
        self._payout_position = {row["id"]: position for position, row in enumerate(self._payouts)}
        self._source_lists: dict[str, _ObjectList] | None = None
        self._by_id: dict[str, dict[str, Any]] = {}
        # Requests are served on a thread each: the ones that arrive while the sales detail is being
        # built wait for that one build (a build per request once took 19 GB and every client's timeout).
        self._sources_lock = threading.Lock()

    def build_sources(self) -> None:
        """Build the world's source objects now (about a millisecond per transaction), so that no
        request waits for them: `sandbox serve` does before it says where it listens."""
        self._sources()

    def _sources(self) -> dict[str, "_ObjectList"]:
        """The world's source objects per resource, built once, by the first request that needs them."""
        if self._source_lists is None:
            with self._sources_lock:
                if self._source_lists is None:
                    by_resource = sales(self.world).by_resource()
                    self._by_id = {obj["id"]: obj for objects in by_resource.values() for obj in objects}
                    # Set last: a request that finds the lists without the lock finds `_by_id` complete too.
                    self._source_lists = {resource: _ObjectList(objects, f"/v1/{resource}") for resource, objects in by_resource.items()}
        return self._source_lists

    def list_sources(self, resource: str, query: Query) -> dict[str, Any]:
        return self._sources()[resource].page(query, self.clock)

    def retrieve_source(self, resource: str, object_id: str) -> dict[str, Any]:
        found = self._sources()[resource].get(object_id, self.clock)
        if found is None:
            raise StripeError(404, f"No such {resource.rstrip('s')}: '{object_id}'", param="id", code="resource_missing")
        return found

    def _expanded_source(self, transaction: dict[str, Any]) -> dict[str, Any]:
        """`expand[]=data.source`: the transaction's source object in place of its id."""
        source_id = transaction["source"]
        if source_id in self._payout_position:
            transaction["source"] = stripe_objects.payout(self._payouts[self._payout_position[source_id]], self.clock)
        elif source_id is not None:
            self._sources()
            transaction["source"] = self._by_id.get(source_id, source_id)
        return transaction

    def _visible_start(self) -> int:
        """First position (newest first) whose object exists at the clock."""
        return int(np.searchsorted(-self._created, -self.clock, side="left"))

    def list_balance_transactions(self, query: Query) -> dict[str, Any]:
        limit = query.limit()
        after, before = query.cursor()
        low, high = query.time_range("created")
        high = self.clock if high is None else min(high, self.clock)
        payout_id = query.get("payout")
        if payout_id is not None:
            if payout_id not in self._by_payout and payout_id not in self._payout_position:
                raise StripeError(404, f"No such payout: '{payout_id}'", param="payout", code="resource_missing")
            candidates = self._by_payout.get(payout_id, np.empty(0, dtype=np.int64))
        else:
            first = int(np.searchsorted(-self._created, -high, side="left"))
            last = len(self._created) if low is None else int(np.searchsorted(-self._created, -low, side="right"))
            candidates = range(max(first, self._visible_start()), last)
        wanted_type, wanted_currency = query.get("type"), query.get("currency")

        def matches(chunk: np.ndarray) -> np.ndarray:
            created = self._created[chunk]
            keep = (created <= high) & (self._visible_at[chunk] <= self.clock)
            if low is not None:
                keep &= created >= low
            if wanted_type:
                keep &= self._type[chunk] == wanted_type
            if wanted_currency:
                keep &= self._currency[chunk] == wanted_currency.lower()
            return keep

        cursor_position = _cursor_position(self._position, after, before, "balance_transaction")
        positions, has_more = _page(candidates, matches, cursor_position, backwards=before is not None, limit=limit)
        rows = self._transactions.take(positions).to_pylist() if positions else []
        data = [stripe_objects.balance_transaction(row, self.clock) for row in rows]
        if query.expands("data.source"):
            data = [self._expanded_source(transaction) for transaction in data]
        return {"object": "list", "data": data, "has_more": has_more, "url": "/v1/balance_transactions"}

    def retrieve_balance_transaction(self, txn_id: str) -> dict[str, Any]:
        position = self._position.get(txn_id)
        if position is None or self._visible_at[position] > self.clock:
            raise StripeError(404, f"No such balance_transaction: '{txn_id}'", param="id", code="resource_missing")
        return stripe_objects.balance_transaction(self._transactions.slice(position, 1).to_pylist()[0], self.clock)

    def list_payouts(self, query: Query) -> dict[str, Any]:
        limit = query.limit()
        after, before = query.cursor()
        created_low, created_high = query.time_range("created")
        arrival_low, arrival_high = query.time_range("arrival_date")
        wanted_status = query.get("status")

        def keep(row: dict[str, Any]) -> bool:
            if row["created"] > self.clock:
                return False
            if created_low is not None and row["created"] < created_low:
                return False
            if created_high is not None and row["created"] > created_high:
                return False
            if arrival_low is not None and row["arrival_date"] < arrival_low:
                return False
            if arrival_high is not None and row["arrival_date"] > arrival_high:
                return False
            return wanted_status is None or stripe_objects.payout_status(row, self.clock) == wanted_status

        positions = [p for p, row in enumerate(self._payouts) if keep(row)]
        cursor_position = _cursor_position(self._payout_position, after, before, "payout")
        found, has_more = _page(positions, lambda chunk: np.ones(len(chunk), dtype=bool), cursor_position, before is not None, limit)
        data = [stripe_objects.payout(self._payouts[p], self.clock) for p in found]
        return {"object": "list", "data": data, "has_more": has_more, "url": "/v1/payouts"}

    def retrieve_payout(self, payout_id: str) -> dict[str, Any]:
        position = self._payout_position.get(payout_id)
        if position is None or self._payouts[position]["created"] > self.clock:
            raise StripeError(404, f"No such payout: '{payout_id}'", param="id", code="resource_missing")
        return stripe_objects.payout(self._payouts[position], self.clock)

    def balance(self) -> dict[str, Any]:
        return stripe_objects.balance(self.world, self.clock)


def _masked(key: str) -> str:
    return f"{key[:8]}{'*' * 4}{key[-4:]}" if len(key) > 12 else "****"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle adds 40 ms a request.
    disable_nagle_algorithm = True
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        """Quiet: tests and benchmarks make tens of thousands of requests."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header tells the time on the sandbox's clock, as Stripe's tells its own."""
        return super().date_time_string(self.server.store.clock if timestamp is None else timestamp)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        request_id = f"req_{self.server.count_request():014d}"
        headers: dict[str, str] = {}
        try:
            if self.server.behaviour.latency_s:
                time.sleep(self.server.behaviour.latency_s)
            key = self._authenticate()
            reason = self.server.faults.rate_limited_reason(key, _endpoint(self.path))
            if reason:
                raise _rate_limited(reason, self.server.behaviour.rate_limit_retry_after_s)
            injected = self.server.faults.injected()
            if injected is not None:
                raise _injected_error(injected)
            body = self._route()
            status = 200
        except StripeError as error:
            status, body, headers = error.status, error.body, error.headers
            body["error"]["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        payload = orjson.dumps(body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Request-Id", request_id)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _authenticate(self) -> str:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or not header[7:].strip():
            raise StripeError(401, "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")
        key = header[7:].strip()
        if key != self.server.api_key:
            raise StripeError(401, f"Invalid API Key provided: {_masked(key)}")
        return key

    def _route(self) -> dict[str, Any]:
        parts = urlsplit(self.path)
        query = Query(dict(parse_qsl(parts.query, keep_blank_values=True)))
        segments = [segment for segment in parts.path.split("/") if segment]
        account_id, store = self.server.account(self.headers.get("Stripe-Account"))
        endpoint = _endpoint(parts.path)
        if endpoint in self.server.behaviour.refused_endpoints:
            raise _permission_refused(self.server.api_key, account_id, endpoint)
        if segments == ["v1", "account"]:
            return {"id": account_id, "object": "account"}
        if segments == ["v1", "balance_transactions"]:
            return store.list_balance_transactions(query)
        if segments[:2] == ["v1", "balance_transactions"] and len(segments) == 3:
            return store.retrieve_balance_transaction(segments[2])
        if segments == ["v1", "payouts"]:
            return store.list_payouts(query)
        if segments[:2] == ["v1", "payouts"] and len(segments) == 3:
            return store.retrieve_payout(segments[2])
        if segments == ["v1", "balance"]:
            return store.balance()
        if len(segments) == 2 and segments[1] in SOURCE_RESOURCES:
            return store.list_sources(segments[1], query)
        if len(segments) == 3 and segments[1] in SOURCE_RESOURCES:
            return store.retrieve_source(segments[1], segments[2])
        if segments[:3] == ["v1", "tax", "transactions"] and len(segments) == 4:
            # Retrieve only: Stripe lists no tax transactions.
            return store.retrieve_source("tax_transactions", segments[3])
        raise StripeError(404, f"Unrecognized request URL (GET: {parts.path}).")


def _endpoint(path: str) -> str:
    """The endpoint a path belongs to, as Stripe's per-endpoint limits and key permissions see it:
    `/v1/payouts/po_123?x=1` is `/v1/payouts`."""
    return "/" + "/".join(urlsplit(path).path.strip("/").split("/")[:2])


def _rate_limited(reason: str, retry_after_s: float | None) -> StripeError:
    error = StripeError(429, "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.", code="rate_limit")
    error.headers = {"Stripe-Rate-Limited-Reason": reason}
    if retry_after_s is not None:
        error.headers["Retry-After"] = f"{retry_after_s:g}"
    return error


# The source objects served, by list endpoint (`sales.SalesDetail.by_resource`).
SOURCE_RESOURCES = ("charges", "refunds", "disputes", "invoices", "invoice_payments", "credit_notes", "products", "prices", "tax_rates", "transfers")

# The permission Stripe names when a restricted key lacks it (docs.stripe.com/keys/permissions-reference).
ENDPOINT_PERMISSIONS = {
    "/v1/account": "rak_connected_account_read",
    "/v1/charges": "rak_charge_read",
    "/v1/refunds": "rak_charge_read",
    "/v1/disputes": "rak_dispute_read",
    "/v1/invoices": "rak_invoice_read",
    "/v1/invoice_payments": "rak_invoice_read",
    "/v1/credit_notes": "rak_credit_note_read",
    "/v1/products": "rak_product_read",
    "/v1/prices": "rak_plan_read",
    "/v1/tax_rates": "rak_tax_rate_read",
    "/v1/transfers": "rak_transfer_read",
    "/v1/tax": "rak_tax_transaction_read",
    "/v1/balance": "rak_balance_read",
    "/v1/balance_transactions": "rak_balance_read",
    "/v1/payouts": "rak_payout_read",
}


def _permission_refused(api_key: str, account_id: str, endpoint: str) -> StripeError:
    """Stripe's answer to a restricted key without the endpoint's permission: 403, an
    invalid_request_error naming the `rak_...` permission, the key masked."""
    permission = ENDPOINT_PERMISSIONS.get(endpoint, "rak_unknown_read")
    return StripeError(403, f"The provided key '{_masked(api_key)}' does not have the required permissions for this endpoint on account "
                            f"'{account_id}'. Having the '{permission}' permission would allow this request to continue.")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Parallel ingestion opens a connection per worker thread; the default backlog of 5 drops some.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], stores: dict[str, SandboxStripe], api_key: str, behaviour: ServerBehaviour) -> None:
        super().__init__(address, _Handler)
        # The key's own account first, then the connected accounts it may act as.
        self.stores = stores
        self.api_key = api_key
        self.behaviour = behaviour
        self.faults = _Faults(behaviour)
        self.requests_served = 0
        self._count_lock = threading.Lock()

    @property
    def store(self) -> SandboxStripe:
        return next(iter(self.stores.values()))

    def account(self, stripe_account: str | None) -> tuple[str, SandboxStripe]:
        """The account a request acts as: its `Stripe-Account` header, else the key's own."""
        account_id = stripe_account or next(iter(self.stores))
        if account_id not in self.stores:
            raise StripeError(403, f"The provided key '{_masked(self.api_key)}' does not have access to account '{account_id}' (or that account does not exist). Application access may have been revoked.",
                              code="account_invalid")
        return account_id, self.stores[account_id]

    def count_request(self) -> int:
        with self._count_lock:
            self.requests_served += 1
            return self.requests_served


class SandboxStripeServer:
    """Runs the sandbox API on 127.0.0.1 in a background thread; port 0 picks a free one."""

    def __init__(self, world: World, api_key: str, port: int = 0, clock: int | None = None, behaviour: ServerBehaviour = ServerBehaviour(),
                 account_id: str = OWN_ACCOUNT_ID, connected: Mapping[str, World] | None = None) -> None:
        """`world` is the key's own account (`account_id`); `connected` maps each connected account
        the key may act as (the `Stripe-Account` header) to its world, all on one clock."""
        worlds = {account_id: world, **(connected or {})}
        self._stores = {account: SandboxStripe(w, clock, behaviour.late_share, behaviour.late_seconds) for account, w in worlds.items()}
        self.store = self._stores[account_id]
        self._server = _Server(("127.0.0.1", port), self._stores, api_key, behaviour)
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-stripe", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def build_sources(self) -> None:
        """Every account's source objects, built before the first request instead of during it."""
        for store in self._stores.values():
            store.build_sources()

    def set_clock(self, clock: int) -> None:
        for store in self._stores.values():
            store.clock = clock

    @property
    def requests_served(self) -> int:
        return self._server.requests_served

    def start(self) -> "SandboxStripeServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "SandboxStripeServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
