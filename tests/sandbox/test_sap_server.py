"""The sandbox SAP system: schema check, per-entry checks and log, OData read-back, auth, faults."""

import pytest
import requests
from lxml import etree

from exporters.sap import SapOptions, document_reference_id, sap_entries
from exporters.sap_soap import ODATA_PATH, POST_PATH, SOAP_ACTION, bulk_request
from sandbox.sap_server import SandboxSapServer
from tests.exporters.lines import JPY, USD

OPTIONS = SapOptions(company_code="1010")
AUTH = ("COMM", "pw")


@pytest.fixture
def server():
    with SandboxSapServer(*AUTH, latency_s=0) as running:
        yield running


def post(server, body: bytes, auth=AUTH, action=SOAP_ACTION):
    return requests.post(server.url + POST_PATH, data=body, auth=auth, headers={"SOAPAction": action, "Content-Type": "text/xml"}, timeout=10)


def edited(body: bytes, path: str, text: str) -> bytes:
    root = etree.fromstring(body)
    root.xpath(path)[0].text = text
    return etree.tostring(root)


def log(response) -> list[tuple[str, str, str]]:
    root = etree.fromstring(response.content)
    return [
        (c.findtext("JournalEntryCreateConfirmation/AccountingDocument"), item.findtext("Severity"), item.findtext("Note"))
        for c in root.iter("JournalEntryCreateConfirmation") if c.find("MessageHeader") is not None
        for item in c.iterfind("Log/Item")
    ]


def test_a_valid_bulk_request_is_confirmed_per_entry_and_readable_through_odata(server):
    response = post(server, bulk_request(sap_entries(JPY + USD, OPTIONS), OPTIONS))
    assert response.status_code == 200
    assert [(document, severity) for document, severity, _ in log(response)] == [("0100000001", "S"), ("0100000002", "S")]
    usd_reference = document_reference_id(sap_entries(USD, OPTIONS)[0])
    odata_filter = f"CompanyCode eq '1010' and (DocumentReferenceID eq '{usd_reference}')"
    rows = requests.get(server.url + ODATA_PATH, params={"$filter": odata_filter, "$format": "json"}, auth=AUTH, timeout=10).json()["d"]["results"]
    assert [(row["AccountingDocument"], row["AmountInTransactionCurrency"], row["DebitCreditCode"]) for row in rows] == [
        ("0100000002", "1000.01", "S"), ("0100000002", "-1001.01", "H"), ("0100000002", "1.00", "S"),
    ]


def test_sap_itself_posts_a_repeated_reference_twice(server):
    body = bulk_request(sap_entries(USD, OPTIONS), OPTIONS)
    post(server, body)
    post(server, body)
    assert len(server.documents()) == 2


@pytest.mark.parametrize(
    ("path", "text", "note"),
    [
        ("//Item[1]/DebitCreditCode", "H", "Item 1: debit/credit code H does not match the amount 1000.01"),
        ("//Item[1]/AmountInTransactionCurrency", "1000.015", "Item 1: USD has 2 decimals, amount 1000.015 has more"),
        ("//Item[3]/AmountInTransactionCurrency", "1.01", "Balance in transaction currency USD is 0.01, not zero"),
        ("//CompanyCode", "9999", "Company code 9999 does not exist"),
    ],
)
def test_an_invalid_entry_gets_document_zero_and_an_error_note(server, path, text, note):
    response = post(server, edited(bulk_request(sap_entries(USD, OPTIONS), OPTIONS), path, text))
    assert response.status_code == 200
    assert ("0000000000", "E", note) in log(response)
    assert server.items == []


def test_a_request_that_breaks_the_schema_gets_a_soap_fault(server):
    response = post(server, edited(bulk_request(sap_entries(USD, OPTIONS), OPTIONS), "//DocumentReferenceID", "X" * 17))
    assert response.status_code == 500
    assert "DocumentReferenceID" in etree.fromstring(response.content).findtext(".//faultstring")
    assert post(server, b"<not-xml").status_code == 500
    assert post(server, bulk_request(sap_entries(USD, OPTIONS), OPTIONS), action="other").status_code == 500


def test_wrong_credentials_get_401(server):
    response = post(server, bulk_request(sap_entries(USD, OPTIONS), OPTIONS), auth=("COMM", "nope"))
    assert response.status_code == 401 and "Basic" in response.headers["WWW-Authenticate"]


def test_fail_after_posts_part_of_the_batch_then_drops_the_connection(server):
    server.fail_after(1)
    with pytest.raises(requests.ConnectionError):
        post(server, bulk_request(sap_entries(JPY + USD, OPTIONS), OPTIONS))
    assert len(server.documents()) == 1
    assert post(server, bulk_request(sap_entries(USD, OPTIONS), OPTIONS)).status_code == 200
