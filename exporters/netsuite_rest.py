"""Push journal entries to NetSuite with SuiteTalk REST upserts (reference/erp.md 1b, 1c).

Each entry is `PUT /record/v1/journalentry/eid:{externalId}?replace=line`: an upsert keyed by
the deterministic external id that replaces the line sublist, so pushing again, or resuming an
interrupted push, never duplicates an entry or a line. Requests are limited per NetSuite account
for the whole process (REST, SOAP and RESTlets share one pool at NetSuite), 429 and 5xx answers
are retried with exponential backoff (honouring `Retry-After`), and every entry gets its own
result with NetSuite's `o:errorDetails`. One entry's failure never stops the others.

`verify` reads the entries back through SuiteQL and compares them line by line.

No Python NetSuite client is good enough here (reference/erp.md 1d: the REST one only does TBA,
and its async design does not fit a Dagster step), so this is a thin client over `requests`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal

import requests

from exporters.journal import JournalEntry
from exporters.http_retry import Outcome, RetryPolicy, send
from exporters.netsuite import UnsupportedPrecisionError, netsuite_amount
from exporters.netsuite_auth import NetSuiteAccount, NetSuiteAuthError
from exporters.sales_detail import line_text
from ledger import failpoints

RECORD_PATH = "/record/v1/journalentry"
SUITEQL_PATH = "/query/v1/suiteql"
SUITEQL_PAGE = 1000
DEFAULT_CONCURRENCY = 5  # the Standard service tier's account-wide limit

_slots_lock = threading.Lock()
_account_slots: dict[str, threading.BoundedSemaphore] = {}


def account_slots(account: NetSuiteAccount, limit: int) -> threading.BoundedSemaphore:
    """The process-wide request slots of one NetSuite account: every client of that account shares them."""
    with _slots_lock:
        return _account_slots.setdefault(account.realm, threading.BoundedSemaphore(limit))


@dataclass(frozen=True)
class NetSuiteReferences:
    """Internal ids NetSuite's REST API needs: subsidiary, currencies by ISO code, accounts by ledger code."""

    subsidiary_id: str
    currency_ids: Mapping[str, str]
    account_ids: Mapping[str, str]


@dataclass(frozen=True)
class ErrorDetail:
    code: str
    detail: str
    path: str = ""


@dataclass(frozen=True)
class PushResult:
    """What happened to one entry. status: upserted | failed | refused (never sent)."""

    external_id: str
    status: str
    http_status: int | None = None
    errors: tuple[ErrorDetail, ...] = ()
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "upserted"

    def describe(self) -> str:
        reasons = "; ".join(f"{error.code} {error.path}: {error.detail}".replace(" :", ":") for error in self.errors)
        http = f" (HTTP {self.http_status}, {self.attempts} attempt(s))" if self.http_status else ""
        return f"{self.external_id}: {self.status}{http}{': ' + reasons if reasons else ''}"


@dataclass(frozen=True)
class VerifyResult:
    external_id: str
    matches: bool
    detail: str = ""


class NetSuiteReadBackError(RuntimeError):
    """SuiteQL did not answer the read-back."""


class RefusedEntry(ValueError):
    """An entry that cannot be sent as it is (precision, missing reference); never retried."""


def _json(body: object) -> str:
    """JSON with `Decimal` amounts written as exact numbers (the stdlib would need floats)."""
    amounts: list[str] = []

    def mark(value: object) -> object:
        if isinstance(value, Decimal):
            amounts.append(str(value))
            return f"\x00{len(amounts) - 1}\x00"
        if isinstance(value, dict):
            return {key: mark(item) for key, item in value.items()}
        if isinstance(value, list):
            return [mark(item) for item in value]
        return value

    text = json.dumps(mark(body), separators=(",", ":"))
    for index, amount in enumerate(amounts):
        text = text.replace(f'"\\u0000{index}\\u0000"', amount, 1)
    return text


def journal_entry_body(entry: JournalEntry, references: NetSuiteReferences) -> dict:
    """The REST record of one entry. Raises RefusedEntry when it cannot be represented exactly."""
    currency_id = references.currency_ids.get(entry.currency)
    if not currency_id:
        raise RefusedEntry(f"no NetSuite currency internal id configured for {entry.currency.upper()}")
    items = []
    # NetSuite derives base amounts from exchangeRate and books its own rounding: the ledger's
    # rounding lines (transaction amount 0) have nothing to send.
    for index, line in enumerate(line for line in entry.lines if line.amount_minor):
        account_id = references.account_ids.get(line.account_code)
        if not account_id:
            raise RefusedEntry(f"line {index}: no NetSuite account internal id configured for account {line.account_code} ({line.account_name})")
        try:
            amount = netsuite_amount(line.amount_minor, line.currency, entry.external_id)
        except UnsupportedPrecisionError as error:
            raise RefusedEntry(str(error)) from None
        items.append({"account": {"id": account_id}, "debit" if line.amount_minor > 0 else "credit": amount, "memo": line_text(line)})
    return {
        "externalId": entry.external_id,
        "subsidiary": {"id": references.subsidiary_id},
        "currency": {"id": currency_id},
        "exchangeRate": entry.exchange_rate.normalize(),
        "tranDate": entry.accounting_date.isoformat(),
        "memo": entry.memo,
        "approved": True,
        "line": {"items": items},
    }


class NetSuiteRestClient:
    """Upserts journal entries and reads them back, within the account's concurrency limit."""

    def __init__(
        self,
        account: NetSuiteAccount,
        auth: requests.auth.AuthBase,
        references: NetSuiteReferences,
        concurrency: int = DEFAULT_CONCURRENCY,
        policy: RetryPolicy = RetryPolicy(),
    ) -> None:
        self.account = account
        self.references = references
        self.concurrency = concurrency
        self._auth = auth
        self._slots = account_slots(account, concurrency)
        self._policy = policy
        self._local = threading.local()
        # After one 401 the other entries are not sent: the credentials would be refused again.
        self._credentials_refused = threading.Event()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.auth = self._auth
        return session

    def _send(self, method: str, path: str, **kwargs) -> Outcome:
        return send(self._session(), self._slots, self._policy, method, self.account.rest_base + path, **kwargs)

    def upsert(self, entry: JournalEntry) -> PushResult:
        failpoints.reached("push.netsuite")
        try:
            body = _json(journal_entry_body(entry, self.references))
        except RefusedEntry as error:
            return PushResult(entry.external_id, "refused", errors=(ErrorDetail("REFUSED", str(error)),))
        if self._credentials_refused.is_set():
            return PushResult(entry.external_id, "failed", errors=(ErrorDetail(
                "NOT_SENT", "NetSuite refused the credentials for an earlier entry; fix the NETSUITE_* settings and push again"),))
        try:
            outcome = self._send(
                "PUT", f"{RECORD_PATH}/eid:{entry.external_id}", params={"replace": "line"}, data=body.encode(),
                headers={"Content-Type": "application/json", "X-NetSuite-PropertyNameValidation": "Error"},
            )
        except NetSuiteAuthError as error:
            self._credentials_refused.set()
            return PushResult(entry.external_id, "failed", errors=(ErrorDetail("AUTH", str(error)),))
        response = outcome.response
        if response is None:
            return PushResult(entry.external_id, "failed", errors=(ErrorDetail("CONNECTION", outcome.connection_error),), attempts=outcome.attempts)
        if response.status_code in (200, 201, 204):
            return PushResult(entry.external_id, "upserted", response.status_code, attempts=outcome.attempts)
        if response.status_code == 401:
            self._credentials_refused.set()
        return PushResult(entry.external_id, "failed", response.status_code, _error_details(response), outcome.attempts)

    def push(self, entries: Iterable[JournalEntry]) -> list[PushResult]:
        """Upsert every entry, `concurrency` at a time; results in the entries' order."""
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="netsuite-push") as pool:
            return list(pool.map(self.upsert, entries))

    def query(self, sql: str) -> list[dict]:
        """Every row of a SuiteQL query, page by page."""
        rows: list[dict] = []
        offset = 0
        while True:
            outcome = self._send(
                "POST", SUITEQL_PATH, params={"limit": SUITEQL_PAGE, "offset": offset}, data=json.dumps({"q": sql}).encode(),
                headers={"Content-Type": "application/json", "Prefer": "transient"},
            )
            response = outcome.response
            if response is None or response.status_code != 200:
                details = "; ".join(f"{e.code}: {e.detail}" for e in _error_details(response)) if response is not None else outcome.connection_error
                raise NetSuiteReadBackError(f"SuiteQL read-back failed: {details}")
            page = response.json()
            rows.extend(page.get("items", []))
            if not page.get("hasMore"):
                return rows
            offset += SUITEQL_PAGE

    def verify(self, entries: list[JournalEntry]) -> list[VerifyResult]:
        """Read the entries back through SuiteQL and compare accounts and amounts line by line."""
        if not entries:
            return []
        ids = ", ".join(f"'{entry.external_id}'" for entry in entries)
        rows = self.query(
            "SELECT t.externalid, tal.account, tl.debitforeignamount, tl.creditforeignamount "
            "FROM transaction t JOIN transactionline tl ON tl.transaction = t.id "
            "JOIN transactionaccountingline tal ON tal.transaction = tl.transaction AND tal.transactionline = tl.id "
            f"WHERE t.recordtype = 'journalentry' AND t.externalid IN ({ids}) ORDER BY t.externalid, tl.id"
        )
        stored: dict[str, list[tuple[str, Decimal]]] = {}
        for row in rows:
            debit = Decimal(str(row.get("debitforeignamount") or 0))
            credit = Decimal(str(row.get("creditforeignamount") or 0))
            stored.setdefault(row["externalid"], []).append((str(row["account"]), debit - credit))
        results = []
        for entry in entries:
            sent = sorted(
                (self.references.account_ids.get(line.account_code, ""), netsuite_amount(line.amount_minor, line.currency, entry.external_id) * (1 if line.amount_minor > 0 else -1))
                for line in entry.lines if line.amount_minor
            )
            found = sorted(stored.get(entry.external_id, []))
            detail = "" if sent == found else f"NetSuite holds {len(found)} line(s) {found}, the ledger {len(sent)} {sent}"
            results.append(VerifyResult(entry.external_id, sent == found, detail))
        return results


def _error_details(response: requests.Response) -> tuple[ErrorDetail, ...]:
    """NetSuite's `o:errorDetails`, or the status line when the body is not NetSuite's error shape."""
    try:
        body = response.json()
        details = body.get("o:errorDetails") or []
        parsed = tuple(
            ErrorDetail(str(item.get("o:errorCode", "")), str(item.get("detail", "")), str(item.get("o:errorPath", "")))
            for item in details
        )
    except (ValueError, AttributeError):
        parsed = ()
    return parsed or (ErrorDetail(f"HTTP_{response.status_code}", response.reason or ""),)
