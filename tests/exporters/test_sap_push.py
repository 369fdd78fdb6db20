"""The SAP poster against the sandbox SAP system, over HTTP: SOAP posts and the OData read-back."""

import pytest

from exporters.http_retry import RetryPolicy
from exporters.sap import SapOptions, document_reference_id, sap_entries
from exporters.sap_soap import SapEndpoint, SapSoapClient
from sandbox.sap_server import SandboxSapServer
from tests.exporters.lines import JPY, KWD, USD, line

OPTIONS = SapOptions(company_code="1010")
PASSWORD = "comm-password-zz"


def many_lines(count: int) -> list:
    lines = []
    for day in range(count):
        entry = f"STRIPE-main-202610{day + 1:02d}-EUR"
        lines += [line(entry, "eur", "1010", 7_000 + day), line(entry, "eur", "4000", -7_000 - day)]
    return lines


@pytest.fixture
def server():
    with SandboxSapServer("STRIPE_COMM", PASSWORD, gl_accounts={"0000101000", "0000400000", "0000600000"}) as running:
        yield running


def client_for(server, password=PASSWORD, batch_size=4) -> SapSoapClient:
    return SapSoapClient(SapEndpoint(server.url, "STRIPE_COMM", password), OPTIONS, batch_size, policy=RetryPolicy(max_attempts=3, backoff_s=0.001))


def test_entries_post_with_signed_amounts_in_each_currency(server):
    results = client_for(server).post(sap_entries(JPY + KWD + USD, OPTIONS))
    assert [(r.status, r.accounting_document) for r in results] == [("posted", "0100000001"), ("posted", "0100000002"), ("posted", "0100000003")]
    items = {(item.currency, item.gl_account): (str(item.amount), item.debit_credit_code) for item in server.items}
    assert items[("KWD", "0000400000")] == ("-12.346", "H")
    assert items[("KWD", "0000600000")] == ("0.001", "S")
    assert items[("JPY", "0000101000")] == ("98765", "S")
    assert {item.document_reference_id for item in server.items} == {document_reference_id(e) for e in sap_entries(JPY + KWD + USD, OPTIONS)}


def test_a_push_interrupted_mid_batch_resumes_to_one_copy_each_and_a_second_push_posts_nothing(server):
    entries = sap_entries(many_lines(10), OPTIONS)
    server.fail_after(2)  # the first batch of 4 posts two entries, then the connection drops
    first = client_for(server).post(entries)
    assert [r.status for r in first[:4]] == ["failed"] * 4
    assert "the next push reads back what was posted" in first[0].notes[0]
    assert [r.status for r in first[4:]] == ["posted"] * 6
    assert len(server.documents()) == 8
    resumed = client_for(server).post(entries)
    assert [r.status for r in resumed] == ["already_posted"] * 2 + ["posted"] * 2 + ["already_posted"] * 6
    assert len(server.documents()) == 10
    references = sorted(item.document_reference_id for item in server.items if item.line_item == 1)
    assert references == sorted(document_reference_id(entry) for entry in entries)
    requests_before = server.posted_requests
    again = client_for(server).post(entries)
    assert {r.status for r in again} == {"already_posted"}
    assert server.posted_requests == requests_before and len(server.documents()) == 10


def test_an_error_on_one_entry_is_reported_with_sap_log_notes_and_the_others_post(server):
    unknown_account = [line("STRIPE-main-20261009-USD", "usd", "1010", 100), line("STRIPE-main-20261009-USD", "usd", "4900", -100)]
    results = client_for(server).post(sap_entries(JPY + unknown_account + USD, OPTIONS))
    assert [r.status for r in results] == ["posted", "failed", "posted"]
    assert results[1].notes == ("E: Item 2: G/L account 0000490000 does not exist in company code 1010",)
    assert "STRIPE-main-20261009-USD" in results[1].describe()


def test_bad_credentials_fail_each_entry_clearly_without_the_password(server):
    results = client_for(server, password="wrong-password").post(sap_entries(JPY + USD, OPTIONS))
    assert [r.status for r in results] == ["failed", "failed"]
    assert all(r.notes == ("SAP read-back of posted journal entries failed: HTTP 401: SAP refused the communication user 'STRIPE_COMM'",) for r in results)
    text = repr(results) + repr(SapEndpoint(server.url, "STRIPE_COMM", "wrong-password"))
    assert "wrong-password" not in text and PASSWORD not in text
    assert server.items == []


def test_repeated_429s_fail_each_entry_with_the_reason_and_post_nothing(server):
    server.concurrency_limit = 0
    results = client_for(server).post(sap_entries(JPY + USD, OPTIONS))
    assert [r.status for r in results] == ["failed", "failed"]
    assert results[0].notes == ("SAP read-back of posted journal entries failed: HTTP 429: Too many concurrent requests",)
    assert server.rejected_for_concurrency == 3  # one read-back, three attempts
    assert server.items == []
