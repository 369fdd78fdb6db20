"""A sandbox SAP S/4HANA system on loopback: journal entry posting over SOAP, and its OData read-back.

Served (reference/erp.md 2b):
- `POST /sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi` with SOAPAction
  `.../JournalEntryBulkCreateRequest`: the body is validated against an XML schema of the
  documented shape (field lengths, S/H, xsd:date, signed decimal amounts with `currencyCode`),
  then each entry is checked (sign matches S/H, no more decimals than the currency has, balanced,
  at most 999 items, known company code and G/L accounts) and posted, or refused with
  `AccountingDocument` 0000000000 and `Log/Item{Severity, Note}`. Like SAP, it posts a second
  document when the same reference arrives twice: idempotency is the client's job.
- `GET /sap/opu/odata/sap/API_JOURNALENTRYITEMBASIC_SRV/A_JournalEntryItemBasic` with
  `$filter` on CompanyCode and DocumentReferenceID (`eq`, joined by `or`), JSON `{"d": {"results"}}`.

Basic auth with a communication user; requests above the concurrency limit get 429. Malformed
XML gets a SOAP fault. `fail_after(n)` makes the next bulk request post its first n entries and
then drop the connection, as a crash in the middle of a batch would.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lxml import etree

from ledger.money import exponent
from sandbox.loopback import Answer, DropConnection, HttpError, LoopbackServer

SFIN = "http://sap.com/xi/SAPSCORE/SFIN"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ACTION = "http://sap.com/xi/SAPSCORE/SFIN/JournalEntryBulkCreateRequest"
POST_PATH = "/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi"
ODATA_PATH = "/sap/opu/odata/sap/API_JOURNALENTRYITEMBASIC_SRV/A_JournalEntryItemBasic"
MAX_ITEMS = 999


def _char(name: str, length: int) -> str:
    return (f'<xs:simpleType name="{name}"><xs:restriction base="xs:string"><xs:minLength value="1"/>'
            f'<xs:maxLength value="{length}"/></xs:restriction></xs:simpleType>')


SCHEMA = etree.XMLSchema(etree.fromstring(f"""
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:sfin="{SFIN}" targetNamespace="{SFIN}" elementFormDefault="unqualified">
  {_char("char2", 2)}{_char("char4", 4)}{_char("char5", 5)}{_char("char10", 10)}{_char("char12", 12)}
  {_char("char16", 16)}{_char("char20", 20)}{_char("char25", 25)}{_char("char35", 35)}{_char("char50", 50)}
  <xs:simpleType name="DebitCreditCode"><xs:restriction base="xs:string"><xs:enumeration value="S"/><xs:enumeration value="H"/></xs:restriction></xs:simpleType>
  <xs:complexType name="Amount"><xs:simpleContent><xs:extension base="xs:decimal">
    <xs:attribute name="currencyCode" use="required"><xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="[A-Z]{{3}}"/></xs:restriction></xs:simpleType></xs:attribute>
  </xs:extension></xs:simpleContent></xs:complexType>
  <xs:complexType name="MessageHeader"><xs:sequence>
    <xs:element name="ID" type="sfin:char35"/><xs:element name="CreationDateTime" type="xs:dateTime"/>
  </xs:sequence></xs:complexType>
  <xs:complexType name="Item"><xs:sequence>
    <xs:element name="ReferenceDocumentItem" type="xs:positiveInteger"/>
    <xs:element name="GLAccount" type="sfin:char10"/>
    <xs:element name="AmountInTransactionCurrency" type="sfin:Amount"/>
    <xs:element name="AmountInCompanyCodeCurrency" type="sfin:Amount" minOccurs="0"/>
    <xs:element name="DebitCreditCode" type="sfin:DebitCreditCode"/>
    <xs:element name="DocumentItemText" type="sfin:char50" minOccurs="0"/>
  </xs:sequence></xs:complexType>
  <xs:complexType name="JournalEntry"><xs:sequence>
    <xs:element name="OriginalReferenceDocumentType" type="sfin:char5"/>
    <xs:element name="OriginalReferenceDocument" type="sfin:char20"/>
    <xs:element name="OriginalReferenceDocumentLogicalSystem" type="sfin:char10"/>
    <xs:element name="BusinessTransactionType" type="sfin:char4"/>
    <xs:element name="AccountingDocumentType" type="sfin:char2"/>
    <xs:element name="DocumentReferenceID" type="sfin:char16"/>
    <xs:element name="DocumentHeaderText" type="sfin:char25" minOccurs="0"/>
    <xs:element name="CreatedByUser" type="sfin:char12" minOccurs="0"/>
    <xs:element name="CompanyCode" type="sfin:char4"/>
    <xs:element name="DocumentDate" type="xs:date"/>
    <xs:element name="PostingDate" type="xs:date"/>
    <xs:element name="Item" type="sfin:Item" minOccurs="2" maxOccurs="unbounded"/>
  </xs:sequence></xs:complexType>
  <xs:element name="JournalEntryBulkCreateRequest"><xs:complexType><xs:sequence>
    <xs:element name="MessageHeader" type="sfin:MessageHeader"/>
    <xs:element name="JournalEntryCreateRequest" maxOccurs="unbounded"><xs:complexType><xs:sequence>
      <xs:element name="MessageHeader" type="sfin:MessageHeader"/>
      <xs:element name="JournalEntry" type="sfin:JournalEntry"/>
    </xs:sequence></xs:complexType></xs:element>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>
"""))


@dataclass(frozen=True)
class PostedItem:
    company_code: str
    fiscal_year: str
    accounting_document: str
    line_item: int
    gl_account: str
    amount: Decimal
    currency: str
    debit_credit_code: str
    posting_date: str
    document_reference_id: str


class _Fault(HttpError):
    def __init__(self, message: str) -> None:
        envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap-env": SOAP_ENV})
        fault = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body"), f"{{{SOAP_ENV}}}Fault")
        etree.SubElement(fault, "faultcode").text = "soap-env:Client"
        etree.SubElement(fault, "faultstring").text = message
        super().__init__(500, etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"), {"Content-Type": "text/xml; charset=utf-8"})


class SandboxSapServer(LoopbackServer):
    """An SAP system on 127.0.0.1 (port 0 picks a free one); `url` is the host to configure."""

    def __init__(self, user: str, password: str, company_codes: set[str] = frozenset({"1010"}), gl_accounts: set[str] | None = None,
                 concurrency_limit: int = 4, latency_s: float = 0.005, port: int = 0) -> None:
        self._credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.company_codes = set(company_codes)
        self.gl_accounts = gl_accounts
        self.latency_s = latency_s
        self.items: list[PostedItem] = []
        self.posted_requests = 0
        self._fail_after: int | None = None
        self._next_document = 100000001
        super().__init__("sandbox-sap", port, concurrency_limit)

    @property
    def url(self) -> str:
        return self.origin

    def fail_after(self, entries: int) -> None:
        """The next bulk request posts `entries` entries, then the connection drops."""
        with self._lock:
            self._fail_after = entries

    def documents(self) -> dict[tuple[str, str], list[PostedItem]]:
        """Posted documents by (company code, accounting document)."""
        with self._lock:
            found: dict[tuple[str, str], list[PostedItem]] = {}
            for item in self.items:
                found.setdefault((item.company_code, item.accounting_document), []).append(item)
            return found

    def too_busy(self) -> HttpError:
        return HttpError(429, b"Too many concurrent requests", {"Content-Type": "text/plain", "Retry-After": "0"})

    def respond(self, method: str, path: str, headers: Any, body: bytes) -> Answer:
        self._authenticate(headers.get("Authorization", ""))
        time.sleep(self.latency_s)
        parts = urlsplit(path)
        if method == "POST" and parts.path == POST_PATH:
            if headers.get("SOAPAction", "").strip('"') != SOAP_ACTION:
                raise _Fault(f"SOAPAction must be {SOAP_ACTION}")
            return 200, self._post(body), {"Content-Type": "text/xml; charset=utf-8"}
        if method == "GET" and parts.path == ODATA_PATH:
            query = dict(parse_qsl(parts.query))
            results = self._odata(query.get("$filter", ""), query.get("$select", ""))
            return 200, json.dumps({"d": {"results": results}}).encode(), {"Content-Type": "application/json"}
        raise HttpError(404, b"Not found", {"Content-Type": "text/plain"})

    def _authenticate(self, header: str) -> None:
        if not (header.startswith("Basic ") and hmac.compare_digest(header[6:].strip(), self._credentials)):
            raise HttpError(401, b"<html><body>Logon failed</body></html>", {"Content-Type": "text/html", "WWW-Authenticate": 'Basic realm="SAP NetWeaver Application Server"'})

    def _post(self, body: bytes) -> bytes:
        try:
            envelope = etree.fromstring(body)
        except etree.XMLSyntaxError as error:
            raise _Fault(f"XML parse error: {error}") from None
        request = envelope.find(f"{{{SOAP_ENV}}}Body/{{{SFIN}}}JournalEntryBulkCreateRequest")
        if request is None:
            raise _Fault("The SOAP body holds no sfin:JournalEntryBulkCreateRequest")
        document = etree.ElementTree(etree.fromstring(etree.tostring(request)))
        if not SCHEMA.validate(document):
            raise _Fault(f"Request does not match JournalEntryBulkCreateRequest: {SCHEMA.error_log.last_error.message}")
        with self._lock:
            fail_after, self._fail_after = self._fail_after, None
        response = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap-env": SOAP_ENV})
        confirmation = etree.SubElement(etree.SubElement(response, f"{{{SOAP_ENV}}}Body"), f"{{{SFIN}}}JournalEntryBulkCreateConfirmation", nsmap={"n0": SFIN})
        header = etree.SubElement(confirmation, "MessageHeader")
        etree.SubElement(header, "ID").text = request.findtext("MessageHeader/ID")
        for position, create in enumerate(request.iterfind("JournalEntryCreateRequest")):
            if fail_after is not None and position == fail_after:
                raise DropConnection()
            document_number, notes = self._post_entry(create.find("JournalEntry"))
            result = etree.SubElement(confirmation, "JournalEntryCreateConfirmation")
            etree.SubElement(etree.SubElement(result, "MessageHeader"), "ReferenceID").text = create.findtext("MessageHeader/ID")
            inner = etree.SubElement(result, "JournalEntryCreateConfirmation")
            etree.SubElement(inner, "AccountingDocument").text = document_number
            etree.SubElement(inner, "CompanyCode").text = create.findtext("JournalEntry/CompanyCode")
            etree.SubElement(inner, "FiscalYear").text = create.findtext("JournalEntry/PostingDate")[:4]
            log = etree.SubElement(result, "Log")
            for severity, note in notes:
                item = etree.SubElement(log, "Item")
                etree.SubElement(item, "Severity").text = severity
                etree.SubElement(item, "Note").text = note
        with self._lock:
            self.posted_requests += 1
        return etree.tostring(response, xml_declaration=True, encoding="UTF-8")

    def _post_entry(self, journal: etree._Element) -> tuple[str, list[tuple[str, str]]]:
        company_code = journal.findtext("CompanyCode")
        reference = journal.findtext("DocumentReferenceID")
        errors: list[str] = []
        if company_code not in self.company_codes:
            errors.append(f"Company code {company_code} does not exist")
        items = journal.findall("Item")
        if len(items) > MAX_ITEMS:
            errors.append(f"Maximum number of items in FI reached ({len(items)} > {MAX_ITEMS})")
        balance: dict[str, Decimal] = {}
        local_balance: dict[str, Decimal] = {}
        parsed = []
        for item in items:
            number = item.findtext("ReferenceDocumentItem")
            amount_element = item.find("AmountInTransactionCurrency")
            currency = amount_element.get("currencyCode")
            try:
                amount = Decimal(amount_element.text)
            except InvalidOperation:
                errors.append(f"Item {number}: amount {amount_element.text} is not a number")
                continue
            code = item.findtext("DebitCreditCode")
            # An exchange-difference item moves only the company-code amount; its side follows that amount.
            local_element = item.find("AmountInCompanyCodeCurrency")
            local = Decimal(local_element.text) if local_element is not None else Decimal(0)
            if local_element is not None:
                local_balance[local_element.get("currencyCode")] = local_balance.get(local_element.get("currencyCode"), Decimal(0)) + local
            side = amount or local
            if (code == "S") != (side > 0) or side == 0:
                errors.append(f"Item {number}: debit/credit code {code} does not match the amount {amount_element.text}")
            if -amount.as_tuple().exponent > exponent(currency):
                errors.append(f"Item {number}: {currency} has {exponent(currency)} decimals, amount {amount_element.text} has more")
            gl_account = item.findtext("GLAccount")
            if self.gl_accounts is not None and gl_account not in self.gl_accounts:
                errors.append(f"Item {number}: G/L account {gl_account} does not exist in company code {company_code}")
            balance[currency] = balance.get(currency, Decimal(0)) + amount
            parsed.append((int(number), gl_account, amount, currency, code))
        for currency, total in sorted(balance.items()):
            if total != 0:
                errors.append(f"Balance in transaction currency {currency} is {total}, not zero")
        for currency, total in sorted(local_balance.items()):
            if total != 0:
                errors.append(f"Balance in company code currency {currency} is {total}, not zero")
        if errors:
            return "0000000000", [("E", error) for error in errors]
        with self._lock:
            document = f"{self._next_document:010d}"
            self._next_document += 1
            posting_date = journal.findtext("PostingDate")
            for number, gl_account, amount, currency, code in parsed:
                self.items.append(PostedItem(company_code, posting_date[:4], document, number, gl_account, amount, currency, code, posting_date, reference))
        return document, [("S", f"Document posted successfully: BKPFF {reference} {company_code}{posting_date[:4]} {document}")]

    def _odata(self, filter_text: str, select: str) -> list[dict[str, Any]]:
        company_codes = set(re.findall(r"CompanyCode eq '([^']*)'", filter_text))
        references = set(re.findall(r"DocumentReferenceID eq '([^']*)'", filter_text))
        fields = [name for name in select.split(",") if name]
        with self._lock:
            rows = [
                {
                    "CompanyCode": item.company_code, "FiscalYear": item.fiscal_year, "AccountingDocument": item.accounting_document,
                    "LedgerGLLineItem": f"{item.line_item:06d}", "GLAccount": item.gl_account,
                    "AmountInTransactionCurrency": str(item.amount), "TransactionCurrency": item.currency,
                    "DebitCreditCode": item.debit_credit_code, "PostingDate": item.posting_date, "DocumentReferenceID": item.document_reference_id,
                }
                for item in self.items
                if (not company_codes or item.company_code in company_codes) and (not references or item.document_reference_id in references)
            ]
        return [{name: row[name] for name in fields} if fields else row for row in rows]
