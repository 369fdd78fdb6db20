"""The sandbox NetSuite account: its OAuth 1.0a check, error shapes, upsert semantics, SuiteQL and limits."""

import json
import threading
import time

import pytest
import requests
from requests_oauthlib import OAuth1

from sandbox.netsuite_server import SandboxNetSuiteServer, TokenBasedCredentials, oauth1_signature

CREDENTIALS = TokenBasedCredentials("ck", "cs", "tid", "ts")
ENTRY = {
    "externalId": "JE-1", "subsidiary": {"id": "1"}, "currency": {"id": "1"}, "tranDate": "2026-10-03", "memo": "m",
    "line": {"items": [{"account": {"id": "58"}, "debit": 10.5}, {"account": {"id": "4"}, "credit": 10.5}]},
}


@pytest.fixture
def server():
    with SandboxNetSuiteServer("1234567-sb1", CREDENTIALS, account_ids={"58", "4"}, concurrency_limit=2, latency_s=0) as running:
        yield running


def signed(realm="1234567_SB1", method="HMAC-SHA256", secret="cs"):
    return OAuth1("ck", secret, "tid", "ts", signature_method=method, realm=realm)


def put(server, body=ENTRY, auth=None, params={"replace": "line"}):
    return requests.put(f"{server.url}/record/v1/journalentry/eid:{body['externalId']}", params=params, json=body, auth=auth or signed(), timeout=10)


def test_the_signature_ignores_parameter_order_and_would_change_if_realm_were_signed():
    # Same inputs, same HMAC-SHA256: realm is not part of what is signed.
    params = [("oauth_consumer_key", "ck"), ("oauth_nonce", "n"), ("oauth_timestamp", "1"), ("b", "x y")]
    one = oauth1_signature("put", "http://h:1/p", params, "cs", "ts")
    assert one == oauth1_signature("PUT", "http://h:1/p", list(reversed(params)), "cs", "ts")
    assert one != oauth1_signature("PUT", "http://h:1/p", [*params, ("realm", "R")], "cs", "ts")


def test_a_correctly_signed_upsert_creates_then_updates_one_record(server):
    first = put(server)
    assert first.status_code == 204 and first.headers["Location"].endswith("/journalentry/1001")
    changed = {**ENTRY, "line": {"items": [{"account": {"id": "58"}, "debit": 11}, {"account": {"id": "4"}, "credit": 11}]}}
    assert put(server, changed).status_code == 204
    record = requests.get(f"{server.url}/record/v1/journalentry/eid:JE-1", auth=signed(), timeout=10).json()
    assert record["id"] == 1001 and len(record["lines"]) == 2
    assert (server.store.stats.created, server.store.stats.updated) == (1, 1)


def test_without_replace_line_the_lines_are_appended_as_netsuite_does(server):
    put(server)
    put(server, params={})
    assert len(server.store.read("JE-1")["lines"]) == 4


@pytest.mark.parametrize(
    "auth",
    [signed(realm="1234567-sb1"), signed(method="HMAC-SHA1"), signed(secret="wrong"), None],
    ids=["realm-in-host-spelling", "hmac-sha1", "wrong-secret", "no-auth"],
)
def test_bad_oauth_is_refused_with_netsuites_error_shape(server, auth):
    response = requests.put(f"{server.url}/record/v1/journalentry/eid:JE-1", params={"replace": "line"}, json=ENTRY, auth=auth, timeout=10)
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"type", "title", "status", "o:errorDetails"} and body["status"] == 401
    assert body["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"
    assert server.store.entry_count() == 0


def test_a_replayed_nonce_is_refused(server):
    prepared = requests.Request("PUT", f"{server.url}/record/v1/journalentry/eid:JE-1", params={"replace": "line"}, json=ENTRY, auth=signed()).prepare()
    with requests.Session() as session:
        assert session.send(prepared, timeout=10).status_code == 204
        assert session.send(prepared, timeout=10).status_code == 401


@pytest.mark.parametrize(
    ("change", "code", "path"),
    [
        ({"line": {"items": [{"account": {"id": "58"}, "debit": 10.555}, {"account": {"id": "4"}, "credit": 10.555}]}}, "INVALID_VALUE", "line.items[0].debit"),
        ({"line": {"items": [{"account": {"id": "58"}, "debit": 10}, {"account": {"id": "4"}, "credit": 9}]}}, "USER_ERROR", "line"),
        ({"currency": {"id": "77"}}, "INVALID_KEY_OR_REF", "currency"),
    ],
    ids=["three-decimals", "unbalanced", "unknown-currency"],
)
def test_invalid_entries_get_400_with_the_error_path(server, change, code, path):
    response = put(server, {**ENTRY, **change})
    assert response.status_code == 400
    [detail] = response.json()["o:errorDetails"]
    assert (detail["o:errorCode"], detail["o:errorPath"]) == (code, path)
    assert server.store.entry_count() == 0


def test_suiteql_runs_the_documented_read_back_query_with_paging(server):
    put(server)
    query = (
        "SELECT t.id, t.externalid, t.trandate, tal.account, tal.debit, tal.credit, tl.memo, tl.foreignamount "
        "FROM transaction t JOIN transactionline tl ON tl.transaction = t.id "
        "JOIN transactionaccountingline tal ON tal.transaction = tl.transaction AND tal.transactionline = tl.id "
        "WHERE t.recordtype = 'journalentry' AND t.externalid = 'JE-1'"
    )
    url = f"{server.url}/query/v1/suiteql"
    page = requests.post(url, params={"limit": 1}, data=json.dumps({"q": query}), headers={"Prefer": "transient"}, auth=signed(), timeout=10).json()
    assert (page["count"], page["hasMore"], page["items"][0]["account"], page["items"][0]["debit"]) == (1, True, "58", "10.5")
    rest = requests.post(url, params={"limit": 1, "offset": 1}, data=json.dumps({"q": query}), headers={"Prefer": "transient"}, auth=signed(), timeout=10).json()
    assert (rest["hasMore"], rest["items"][0]["credit"], rest["items"][0]["foreignamount"]) == (False, "10.5", "-10.5")
    missing_header = requests.post(url, data=json.dumps({"q": query}), auth=signed(), timeout=10)
    assert missing_header.status_code == 400


def test_requests_above_the_concurrency_limit_get_429(server):
    server.latency_s = 0.5
    statuses = []

    def call(index):
        statuses.append(put(server, {**ENTRY, "externalId": f"JE-{index}"}).status_code)

    threads = [threading.Thread(target=call, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
        time.sleep(0.02)
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [204, 204, 429, 429]
    assert server.store.entry_count() == 2
