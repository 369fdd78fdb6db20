"""A sandbox NetSuite REST account on loopback: the stand-in the push client is tested against.

Served under `/services/rest` (reference/erp.md 1b, 1c):
- `PUT /record/v1/journalentry/eid:{externalId}` (upsert; lines replaced with `?replace=line`,
  appended without it, as NetSuite does), `GET /record/v1/journalentry/eid:{externalId}`;
- `POST /query/v1/suiteql` (`Prefer: transient`, `limit`/`offset` paging): entries are stored in
  SQLite tables named and shaped like NetSuite's `transaction`, `transactionline` and
  `transactionaccountingline`, so the documented read-back query runs for real;
- `POST /auth/oauth2/v1/token`: client credentials with a PS256 JWT assertion, verified with the
  configured certificate's public key; it answers with a bearer token.

Every other request must carry either that bearer token or an OAuth 1.0a header signed with
HMAC-SHA256, checked here by an implementation of RFC 5849 section 3.4 of its own (so the test
proves the client library signs as NetSuite expects, instead of agreeing with itself): realm is
the upper-case account id and is not signed, the nonce may not repeat, the timestamp must be
recent. Requests above the account's concurrency limit get 429. Errors have NetSuite's shape
(`type`, `title`, `status`, `o:errorDetails[]`). `fail_writes_after(n)` makes the account apply
the next n writes, apply one more and drop its connection, then answer 503 until `recover()`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from sandbox.loopback import DropConnection, HttpError, LoopbackServer

TIMESTAMP_TOLERANCE_S = 300
TOKEN_LIFETIME_S = 3600
INVALID_LOGIN = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
    "Setup > Users/Roles > User Management > View Login Audit Trail."
)
SCHEMA = """
create table "transaction" (id integer primary key, externalid text unique, recordtype text, type text, trandate text,
    memo text, currency text, subsidiary text, approvalstatus text, posting text);
create table transactionline ("transaction" integer, id integer, account text, memo text, foreignamount text,
    debitforeignamount text, creditforeignamount text, subsidiary text);
create table transactionaccountingline ("transaction" integer, transactionline integer, account text, debit text,
    credit text, amount text, posting text, accountingbook integer);
"""


class NetSuiteError(HttpError):
    """An answer in NetSuite's REST error shape."""

    def __init__(self, status: int, code: str, detail: str, path: str | None = None, headers: dict[str, str] | None = None):
        item = {"detail": detail, "o:errorCode": code}
        if path:
            item["o:errorPath"] = path
        titles = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed", 429: "Too Many Requests", 503: "Service Unavailable"}
        sections = {400: "15.5.1", 401: "15.5.2", 404: "15.5.5", 405: "15.5.6", 429: "6.6", 503: "15.6.4"}
        body = {
            "type": f"https://www.rfc-editor.org/rfc/rfc9110.html#section-{sections.get(status, '15.6.1')}",
            "title": titles.get(status, "Internal Server Error"),
            "status": status,
            "o:errorDetails": [item],
        }
        super().__init__(status, json.dumps(body).encode(), {"Content-Type": "application/vnd.oracle.resource+json; type=error", **(headers or {})})


def _json_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    return status, json.dumps(body, default=str).encode(), {"Content-Type": "application/json", **(headers or {})}


def _oauth_error(code: str) -> HttpError:
    return HttpError(400, json.dumps({"error": code}).encode(), {"Content-Type": "application/json"})


@dataclass
class TokenBasedCredentials:
    consumer_key: str
    consumer_secret: str = field(repr=False)
    token_id: str
    token_secret: str = field(repr=False)


@dataclass
class ClientCertificate:
    client_id: str
    certificate_id: str
    public_key_pem: str


@dataclass
class WriteStats:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _encode(value: str) -> str:
    return quote(value, safe="-._~")


def oauth1_signature(method: str, base_uri: str, params: list[tuple[str, str]], consumer_secret: str, token_secret: str) -> str:
    """RFC 5849 3.4.1-3.4.2 with HMAC-SHA256: percent-encoded, sorted parameters, realm excluded by the caller."""
    normalized = "&".join(f"{k}={v}" for k, v in sorted((_encode(k), _encode(v)) for k, v in params))
    base_string = "&".join((method.upper(), _encode(base_uri), _encode(normalized)))
    key = f"{_encode(consumer_secret)}&{_encode(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base_string.encode(), hashlib.sha256).digest()).decode()


class NetSuiteAccountStore:
    """The account's journal entries, in NetSuite-shaped SQLite tables, behind one lock."""

    def __init__(self, subsidiary_ids: set[str], currency_ids: set[str], account_ids: set[str]) -> None:
        self.subsidiary_ids, self.currency_ids, self.account_ids = subsidiary_ids, currency_ids, account_ids
        self.database = sqlite3.connect(":memory:", check_same_thread=False)
        self.database.executescript(SCHEMA)
        self.lock = threading.Lock()
        self.stats = WriteStats()
        self._internal_ids = itertools.count(1001)

    def _validate(self, external_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        if body.get("externalId") not in (None, external_id):
            raise NetSuiteError(400, "INVALID_VALUE", f"externalId {body.get('externalId')!r} does not match the URL's eid:{external_id}", "externalId")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", external_id):
            raise NetSuiteError(400, "INVALID_KEY_OR_REF", f"Invalid external ID: {external_id}", None)
        if (body.get("subsidiary") or {}).get("id") not in self.subsidiary_ids:
            raise NetSuiteError(400, "INVALID_KEY_OR_REF", f"Invalid subsidiary reference key {(body.get('subsidiary') or {}).get('id')}.", "subsidiary")
        if (body.get("currency") or {}).get("id") not in self.currency_ids:
            raise NetSuiteError(400, "INVALID_KEY_OR_REF", f"Invalid currency reference key {(body.get('currency') or {}).get('id')}.", "currency")
        items = (body.get("line") or {}).get("items") or []
        for index, item in enumerate(items):
            account = (item.get("account") or {}).get("id")
            if account not in self.account_ids:
                raise NetSuiteError(400, "INVALID_KEY_OR_REF", f"Invalid account reference key {account}.", f"line.items[{index}].account")
            for side in ("debit", "credit"):
                amount = item.get(side)
                if amount is not None and (not isinstance(amount, (int, Decimal)) or Decimal(amount).as_tuple().exponent < -2 or Decimal(amount) < 0):
                    raise NetSuiteError(400, "INVALID_VALUE", f"Invalid number (must be at most 2 decimal places and not negative): {amount}", f"line.items[{index}].{side}")
            if (item.get("debit") is None) == (item.get("credit") is None):
                raise NetSuiteError(400, "INVALID_VALUE", "Each line needs exactly one of debit and credit.", f"line.items[{index}]")
        return items

    def upsert(self, external_id: str, body: dict[str, Any], replace_lines: bool) -> int:
        items = self._validate(external_id, body)
        with self.lock:
            row = self.database.execute('select id from "transaction" where externalid = ?', (external_id,)).fetchone()
            before = self.read(external_id) if row else None
            if not replace_lines and row:
                items = [*({"account": {"id": line["account"]}, **line["amounts"], "memo": line["memo"]} for line in before["lines"]), *items]
            debits = sum(Decimal(item.get("debit") or 0) for item in items)
            credits = sum(Decimal(item.get("credit") or 0) for item in items)
            if len(items) < 2 or debits != credits:
                raise NetSuiteError(400, "USER_ERROR", f"The transaction is out of balance or has fewer than 2 lines (debits {debits}, credits {credits}).", "line")
            internal_id = row[0] if row else next(self._internal_ids)
            with self.database:
                self.database.execute('delete from "transaction" where id = ?', (internal_id,))
                self.database.execute('delete from transactionline where "transaction" = ?', (internal_id,))
                self.database.execute('delete from transactionaccountingline where "transaction" = ?', (internal_id,))
                self.database.execute(
                    'insert into "transaction" values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                    (internal_id, external_id, "journalentry", "Journal", body.get("tranDate"), body.get("memo"),
                     body["currency"]["id"], body["subsidiary"]["id"], "A" if body.get("approved") else "B", "T"),
                )
                for line_id, item in enumerate(items):
                    debit, credit = item.get("debit"), item.get("credit")
                    signed = Decimal(debit) if debit is not None else -Decimal(credit)
                    as_text = lambda value: None if value is None else str(value)  # noqa: E731 - one use
                    self.database.execute(
                        "insert into transactionline values (?, ?, ?, ?, ?, ?, ?, ?)",
                        (internal_id, line_id, item["account"]["id"], item.get("memo"), str(signed), as_text(debit), as_text(credit), body["subsidiary"]["id"]),
                    )
                    self.database.execute(
                        "insert into transactionaccountingline values (?, ?, ?, ?, ?, ?, ?, ?)",
                        (internal_id, line_id, item["account"]["id"], as_text(debit), as_text(credit), str(signed), "T", 1),
                    )
            after = self.read(external_id)
            if before is None:
                self.stats.created += 1
            elif before == after:
                self.stats.unchanged += 1
            else:
                self.stats.updated += 1
            return internal_id

    def read(self, external_id: str) -> dict[str, Any] | None:
        row = self.database.execute(
            'select id, trandate, memo, currency, subsidiary from "transaction" where externalid = ?', (external_id,)
        ).fetchone()
        if row is None:
            return None
        lines = [
            {"account": account, "memo": memo, "amounts": {key: Decimal(value) for key, value in (("debit", debit), ("credit", credit)) if value is not None}}
            for account, memo, debit, credit in self.database.execute(
                'select account, memo, debitforeignamount, creditforeignamount from transactionline where "transaction" = ? order by id', (row[0],)
            )
        ]
        return {"id": row[0], "externalId": external_id, "tranDate": row[1], "memo": row[2], "currency": row[3], "subsidiary": row[4], "lines": lines}

    def entry_count(self) -> int:
        with self.lock:
            return self.database.execute('select count(*) from "transaction"').fetchone()[0]

    def suiteql(self, sql: str, limit: int, offset: int) -> dict[str, Any]:
        if not re.match(r"\s*select\b", sql, re.IGNORECASE) or ";" in sql:
            raise NetSuiteError(400, "INVALID_PARAMETER", "Invalid search query. Only a single SELECT statement is supported.", None)
        # TRANSACTION is a keyword to SQLite, not to SuiteQL.
        sql = re.sub(r'(?<!")\btransaction\b(?!")', '"transaction"', sql, flags=re.IGNORECASE)
        with self.lock:
            try:
                cursor = self.database.execute(f"select * from ({sql}) limit ? offset ?", (limit + 1, offset))
            except sqlite3.Error as error:
                raise NetSuiteError(400, "INVALID_PARAMETER", f"Invalid search query: {error}", None) from None
            names = [column[0].lower() for column in cursor.description]
            rows = cursor.fetchall()
        items = [{"links": [], **dict(zip(names, row))} for row in rows[:limit]]
        return {"links": [], "count": len(items), "hasMore": len(rows) > limit, "items": items, "offset": offset}


class SandboxNetSuiteServer(LoopbackServer):
    """A NetSuite account on 127.0.0.1 (port 0 picks a free one). `url` is its `/services/rest` base."""

    def __init__(
        self,
        account_id: str,
        token_based: TokenBasedCredentials | None = None,
        client_certificate: ClientCertificate | None = None,
        subsidiary_ids: set[str] = frozenset({"1"}),
        currency_ids: set[str] = frozenset({"1", "2", "3", "4"}),
        account_ids: set[str] = frozenset(),
        concurrency_limit: int = 5,
        latency_s: float = 0.005,
        port: int = 0,
    ) -> None:
        self.realm = account_id.upper().replace("-", "_")
        self.token_based = token_based
        self.client_certificate = client_certificate
        self.store = NetSuiteAccountStore(set(subsidiary_ids), set(currency_ids), set(account_ids))
        self.latency_s = latency_s
        self._forced_429 = 0
        self._writes_left: int | None = None
        self._nonces: set[tuple[str, str]] = set()
        self._tokens: dict[str, float] = {}
        super().__init__("sandbox-netsuite", port, concurrency_limit)

    @property
    def url(self) -> str:
        return f"{self.origin}/services/rest"

    def answer_429(self, requests: int) -> None:
        """The next `requests` authenticated requests get 429, whatever the load."""
        with self._lock:
            self._forced_429 = requests

    def fail_writes_after(self, writes: int) -> None:
        """Apply `writes` more writes, apply one more and drop its connection, then answer 503."""
        with self._lock:
            self._writes_left = writes

    def recover(self) -> None:
        with self._lock:
            self._writes_left = None

    def too_busy(self) -> HttpError:
        return NetSuiteError(429, "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded. Request blocked.", None)

    def respond(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        parts = urlsplit(path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        route = unquote(parts.path)
        host = headers.get("Host", "")
        if method == "POST" and route == "/services/rest/auth/oauth2/v1/token":
            return _json_answer(200, self._issue_token(dict(parse_qsl(body.decode()))))
        self._authenticate(method, headers, f"http://{host}{parts.path}", parse_qsl(parts.query, keep_blank_values=True))
        time.sleep(self.latency_s)
        with self._lock:
            forced, self._forced_429 = self._forced_429 > 0, max(0, self._forced_429 - 1)
        if forced:
            raise self.too_busy()
        match = re.fullmatch(r"/services/rest/record/v1/journalentry/eid:([^/]+)", route, re.IGNORECASE)
        if match and method == "PUT":
            try:
                record = json.loads(body, parse_float=Decimal)
            except ValueError:
                raise NetSuiteError(400, "INVALID_CONTENT", "The request body is not valid JSON.", None) from None
            drop_answer = self._reserve_write()
            internal_id = self.store.upsert(match.group(1), record, query.get("replace", "").lower() == "line")
            if drop_answer:
                raise DropConnection()
            return 204, b"", {"Location": f"http://{host}/services/rest/record/v1/journalentry/{internal_id}"}
        if match and method == "GET":
            with self.store.lock:
                record = self.store.read(match.group(1))
            if record is None:
                raise NetSuiteError(404, "NONEXISTENT_ID", f"The record instance does not exist. Provide a valid record instance ID: eid:{match.group(1)}.", None)
            return _json_answer(200, record)
        if route == "/services/rest/query/v1/suiteql" and method == "POST":
            if headers.get("Prefer", "").lower() != "transient":
                raise NetSuiteError(400, "INVALID_HEADER", "SuiteQL requests need the header Prefer: transient.", None)
            limit, offset = int(query.get("limit", 1000)), int(query.get("offset", 0))
            if not 1 <= limit <= 1000:
                raise NetSuiteError(400, "INVALID_PARAMETER", "limit must be between 1 and 1000.", None)
            return _json_answer(200, self.store.suiteql(json.loads(body)["q"], limit, offset))
        raise NetSuiteError(404, "NONEXISTENT_ID", f"Unsupported request: {method} {route}", None)

    def _reserve_write(self) -> bool:
        """Count a write before applying it (atomically, as writes run concurrently); True: drop its answer."""
        with self._lock:
            if self._writes_left is None:
                return False
            if self._writes_left < 0:
                raise NetSuiteError(503, "UNEXPECTED_ERROR", "An unexpected error occurred. The service is unavailable.", None)
            self._writes_left -= 1
            return self._writes_left < 0

    def _authenticate(self, method: str, headers: Any, base_uri: str, query: list[tuple[str, str]]) -> None:
        header = headers.get("Authorization", "")
        if header.startswith("Bearer "):
            expires = self._tokens.get(header[7:].strip())
            if expires is None or expires < time.time():
                raise NetSuiteError(401, "INVALID_LOGIN", INVALID_LOGIN, None)
            return
        if not header.startswith("OAuth ") or self.token_based is None:
            raise NetSuiteError(401, "INVALID_LOGIN", INVALID_LOGIN, None)
        fields = {key: unquote(value) for key, value in re.findall(r'([a-z_]+)="([^"]*)"', header[6:])}
        credentials = self.token_based
        valid = (
            fields.get("realm") == self.realm
            and fields.get("oauth_signature_method") == "HMAC-SHA256"
            and fields.get("oauth_version", "1.0") == "1.0"
            and hmac.compare_digest(fields.get("oauth_consumer_key", ""), credentials.consumer_key)
            and hmac.compare_digest(fields.get("oauth_token", ""), credentials.token_id)
            and fields.get("oauth_timestamp", "").isdigit()
            and abs(int(fields["oauth_timestamp"]) - time.time()) <= TIMESTAMP_TOLERANCE_S
        )
        if not valid:
            raise NetSuiteError(401, "INVALID_LOGIN", INVALID_LOGIN, None)
        signed = [(key, value) for key, value in fields.items() if key not in ("realm", "oauth_signature")] + query
        expected = oauth1_signature(method, base_uri, signed, credentials.consumer_secret, credentials.token_secret)
        if not hmac.compare_digest(expected, fields.get("oauth_signature", "")):
            raise NetSuiteError(401, "INVALID_LOGIN", INVALID_LOGIN, None)
        with self._lock:
            nonce = (fields.get("oauth_nonce", ""), fields["oauth_timestamp"])
            if not nonce[0] or nonce in self._nonces:
                raise NetSuiteError(401, "INVALID_LOGIN", INVALID_LOGIN, None)
            self._nonces.add(nonce)

    def _issue_token(self, form: dict[str, str]) -> dict[str, Any]:
        certificate = self.client_certificate
        if form.get("grant_type") != "client_credentials" or certificate is None:
            raise _oauth_error("unsupported_grant_type")
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            raise _oauth_error("invalid_request")
        claims = self._verified_claims(form.get("client_assertion", ""), certificate)
        now = time.time()
        if (
            claims.get("iss") != certificate.client_id
            or claims.get("aud") != self.url + "/auth/oauth2/v1/token"
            or "rest_webservices" not in str(claims.get("scope", "")).replace(",", " ").split()
            or not isinstance(claims.get("exp"), int) or not isinstance(claims.get("iat"), int)
            or claims["exp"] < now or claims["exp"] > claims["iat"] + 3600 or claims["iat"] > now + TIMESTAMP_TOLERANCE_S
        ):
            raise _oauth_error("invalid_grant")
        token = base64.urlsafe_b64encode(hashlib.sha256(f"{claims.get('jti')}{now}".encode()).digest()).decode().rstrip("=")
        with self._lock:
            self._tokens[token] = now + TOKEN_LIFETIME_S
        return {"access_token": token, "token_type": "bearer", "expires_in": TOKEN_LIFETIME_S}

    @staticmethod
    def _verified_claims(assertion: str, certificate: ClientCertificate) -> dict[str, Any]:
        """Verify the PS256 signature with `cryptography` directly (RFC 7518 3.5: PSS, SHA-256, salt 32)."""
        try:
            header_b64, claims_b64, signature_b64 = assertion.split(".")
            decode = lambda part: base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))  # noqa: E731
            header = json.loads(decode(header_b64))
            if header.get("alg") != "PS256" or header.get("kid") != certificate.certificate_id:
                raise ValueError("wrong algorithm or certificate")
            public_key = serialization.load_pem_public_key(certificate.public_key_pem.encode())
            public_key.verify(
                decode(signature_b64), f"{header_b64}.{claims_b64}".encode(),
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256(),
            )
            return json.loads(decode(claims_b64))
        except Exception:  # noqa: BLE001 - every malformed or forged assertion gets the same answer
            raise _oauth_error("invalid_client") from None
