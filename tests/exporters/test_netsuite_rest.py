"""The push client against the sandbox NetSuite account, over HTTP, with real OAuth on both sides."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from exporters import netsuite_rest
from exporters.http_retry import RetryPolicy
from exporters.journal import group_entries
from exporters.netsuite_auth import ClientCredentials, NetSuiteAccount, NetSuiteAuthError, TokenCredentials
from exporters.netsuite_rest import NetSuiteReferences, NetSuiteRestClient
from sandbox.netsuite_server import ClientCertificate, SandboxNetSuiteServer, TokenBasedCredentials
from tests.exporters.lines import JPY, KWD, USD, line

ACCOUNT_ID = "1234567-sb1"
SECRETS = ("consumer-secret-zz", "token-secret-zz")
TBA = TokenCredentials("consumer-key", SECRETS[0], "token-id", SECRETS[1])
REFERENCES = NetSuiteReferences("1", {"usd": "1", "jpy": "2", "kwd": "4"}, {"1010": "58", "4000": "4", "6000": "60", "4900": "49"})
FAST = RetryPolicy(max_attempts=4, backoff_s=0.001)


def many_entries(count: int) -> list:
    lines = []
    for day in range(count):
        entry = f"STRIPE-main-202610{day + 1:02d}-USD"
        lines += [line(entry, "usd", "1010", 10_000 + day), line(entry, "usd", "4000", -10_050 - day), line(entry, "usd", "6000", 50)]
    return group_entries(lines)


@pytest.fixture(autouse=True)
def fresh_account_slots():
    """Each test starts as a new process would: no slots taken yet."""
    netsuite_rest._account_slots.clear()


@pytest.fixture
def server():
    with SandboxNetSuiteServer(
        ACCOUNT_ID, TokenBasedCredentials("consumer-key", SECRETS[0], "token-id", SECRETS[1]),
        currency_ids={"1", "2", "4"}, account_ids={"58", "4", "60", "49"}, concurrency_limit=3,
    ) as running:
        yield running


def client_for(server, credentials=TBA, concurrency=3, policy=FAST) -> NetSuiteRestClient:
    account = NetSuiteAccount(ACCOUNT_ID, server.url)
    return NetSuiteRestClient(account, credentials.auth(account), REFERENCES, concurrency, policy)


def test_the_realm_and_host_spellings_come_from_either_form_of_the_account_id():
    for spelling in ("1234567_SB1", "1234567-sb1"):
        account = NetSuiteAccount(spelling)
        assert (account.realm, account.host_id) == ("1234567_SB1", "1234567-sb1")
        assert account.rest_base == "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest"


def test_entries_are_upserted_with_exact_amounts_and_read_back_through_suiteql(server, monkeypatch):
    entries = group_entries(JPY + USD)
    client = client_for(server)
    results = client.push(entries)
    assert [(r.external_id, r.status, r.http_status) for r in results] == [
        ("STRIPE-main-20261003-JPY", "upserted", 204), ("STRIPE-main-20261003-USD", "upserted", 204),
    ]
    stored = server.store.read("STRIPE-main-20261003-USD")
    assert [(l["account"], {k: str(v) for k, v in l["amounts"].items()}) for l in stored["lines"]] == [
        ("58", {"debit": "1000.01"}), ("4", {"credit": "1001.01"}), ("60", {"debit": "1.00"}),
    ]
    assert [(l["account"], {k: str(v) for k, v in l["amounts"].items()}) for l in server.store.read("STRIPE-main-20261003-JPY")["lines"]] == [
        ("58", {"debit": "98765"}), ("4", {"credit": "100000"}), ("60", {"debit": "1235"}),
    ]
    monkeypatch.setattr(netsuite_rest, "SUITEQL_PAGE", 2)  # six lines: three pages
    assert [(check.external_id, check.matches) for check in client.verify(entries)] == [(e.external_id, True) for e in entries]


def test_an_interrupted_push_resumes_to_exactly_one_copy_and_a_second_push_changes_nothing(server):
    entries = many_entries(12)
    server.fail_writes_after(5)
    first = client_for(server).push(entries)
    assert sum(result.ok for result in first) == 5
    failed = [result for result in first if not result.ok]
    assert all(result.status == "failed" and result.errors for result in failed)
    assert {result.errors[0].code for result in failed} <= {"CONNECTION", "UNEXPECTED_ERROR"}
    assert server.store.entry_count() == 6  # the write whose answer was lost was applied
    server.recover()
    resumed = client_for(server).push(entries)
    assert all(result.ok for result in resumed)
    assert server.store.entry_count() == 12
    assert (server.store.stats.created, server.store.stats.updated) == (12, 0)
    again = client_for(server).push(entries)
    assert all(result.ok for result in again)
    assert server.store.entry_count() == 12
    assert (server.store.stats.created, server.store.stats.updated) == (12, 0)
    assert [len(server.store.read(entry.external_id)["lines"]) for entry in entries] == [3] * 12


def test_two_clients_of_one_account_together_stay_within_its_concurrency_limit(server):
    server.latency_s = 0.02
    first, second = client_for(server, concurrency=3), client_for(server, concurrency=3)
    assert first._slots is second._slots
    with ThreadPoolExecutor(2) as pool:
        pushes = [pool.submit(first.push, many_entries(15)), pool.submit(second.push, many_entries(9))]
        results = [result for push in pushes for result in push.result()]
    assert all(result.ok for result in results)
    assert server.max_in_flight == 3 and server.rejected_for_concurrency == 0


def test_429s_are_retried_with_backoff_and_repeated_429s_fail_only_their_entry(server):
    delays = []
    policy = RetryPolicy(max_attempts=4, backoff_s=0.25, sleep=delays.append)
    server.answer_429(2)
    [result] = client_for(server, concurrency=1, policy=policy).push(group_entries(USD))
    assert (result.status, result.attempts) == ("upserted", 3)
    assert delays == [0.25, 0.5]
    server.answer_429(4)
    results = client_for(server, concurrency=1, policy=RetryPolicy(max_attempts=4, backoff_s=0.0)).push(group_entries(JPY + USD))
    assert [(r.external_id, r.status, r.http_status, r.attempts) for r in results] == [
        ("STRIPE-main-20261003-JPY", "failed", 429, 4), ("STRIPE-main-20261003-USD", "upserted", 204, 1),
    ]
    assert results[0].errors[0].code == "CONCURRENCY_LIMIT_EXCEEDED"
    assert "STRIPE-main-20261003-JPY: failed (HTTP 429, 4 attempt(s)): CONCURRENCY_LIMIT_EXCEEDED" in results[0].describe()


def test_a_4xx_on_one_entry_is_reported_with_its_error_details_and_the_others_land(server):
    bad = [line("STRIPE-main-20261005-USD", "usd", "1010", 500), line("STRIPE-main-20261005-USD", "usd", "4900", -500)]
    references = NetSuiteReferences("1", REFERENCES.currency_ids, {**REFERENCES.account_ids, "4900": "999"})
    client = client_for(server)
    client.references = references
    results = client.push(group_entries(JPY + bad + USD))
    assert [r.status for r in results] == ["upserted", "failed", "upserted"]
    assert results[1].http_status == 400
    assert results[1].errors[0] == netsuite_rest.ErrorDetail("INVALID_KEY_OR_REF", "Invalid account reference key 999.", "line.items[1].account")
    assert server.store.entry_count() == 2


def test_kwd_entries_are_refused_by_name_without_rounding_and_nothing_else_is_lost(server):
    results = client_for(server).push(group_entries(JPY + KWD + USD))
    assert [r.status for r in results] == ["upserted", "refused", "upserted"]
    assert "KWD has 3 decimals" in results[1].errors[0].detail and "STRIPE-main-20261003-KWD" in results[1].errors[0].detail
    assert server.store.read("STRIPE-main-20261003-KWD") is None


def test_bad_credentials_fail_every_entry_clearly_without_leaking_secrets(server):
    wrong = TokenCredentials("consumer-key", "not-the-secret", "token-id", SECRETS[1])
    results = client_for(server, credentials=wrong, concurrency=1).push(group_entries(JPY + USD + KWD))
    assert [(r.status, r.http_status, r.errors[0].code) for r in results] == [("failed", 401, "INVALID_LOGIN"), ("failed", None, "NOT_SENT"), ("refused", None, "REFUSED")]
    assert "fix the NETSUITE_* settings and push again" in results[1].describe()
    text = " ".join(r.describe() for r in results) + repr(wrong) + repr(results)
    assert not any(secret in text for secret in (*SECRETS, "not-the-secret"))
    assert server.store.entry_count() == 0


@pytest.fixture(scope="module")
def key_pair():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    public = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return pem, public


def test_oauth2_client_credentials_mint_one_token_and_push(key_pair):
    pem, public = key_pair
    with SandboxNetSuiteServer(ACCOUNT_ID, client_certificate=ClientCertificate("client-1", "cert-1", public), account_ids={"58", "4", "60"}) as server:
        credentials = ClientCredentials("client-1", "cert-1", pem)
        results = client_for(server, credentials=credentials).push(many_entries(4))
        assert all(result.ok for result in results)
        assert len(server._tokens) == 1
        wrong_certificate = ClientCredentials("client-1", "cert-2", pem)
        [refused] = client_for(server, credentials=wrong_certificate).push(many_entries(1))
        assert refused.status == "failed" and refused.errors[0].code == "AUTH"
        assert "HTTP 400 invalid_client" in refused.errors[0].detail and "cert-2" in refused.errors[0].detail
        assert "PRIVATE KEY" not in repr(wrong_certificate) + refused.describe()
        with pytest.raises(NetSuiteAuthError):
            other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
            ClientCredentials("client-1", "cert-1", other_key).auth(NetSuiteAccount(ACCOUNT_ID, server.url))._access_token()
