"""SAP `JournalEntryBulkCreateRequest` SOAP messages (reference/erp.md 2b): written to a file, and posted.

Each entry becomes a `JournalEntryCreateRequest` with the company code, the 16-character
`DocumentReferenceID` from `exporters.sap`, and items that carry both `DebitCreditCode` (S/H)
and a signed amount (S positive, H negative) with the currency's decimals in SAP, in the transaction
currency (`AmountInTransactionCurrency`) and in the company code's functional currency
(`AmountInCompanyCodeCurrency`, from the translated journal: SAP then does not translate at its
own rate). A rounding line has a transaction amount of 0 and takes its functional amount's side.
`CreationDateTime` is the entries' last accounting date at midnight UTC, not the clock, so an
unchanged period gives a byte-identical file.

Posting is made idempotent by reading first: SAP itself would post a second document for the same
reference, so before each batch the client asks the read-only OData service
`API_JOURNALENTRYITEMBASIC_SRV` which references the company code already holds, and posts only
the others. An interrupted push therefore resumes without duplicates, and a repeated push posts
nothing. Every entry gets its own result with SAP's log notes.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from lxml import etree

from exporters.http_retry import RetryPolicy, send
from exporters.journal import ExportedFile, JournalEntry, JournalLine, atomic_write_bytes, parsed_line, prove_totals
from exporters.sap import HEADER_TEXT_LENGTH, ITEM_TEXT_LENGTH, SapOptions, debit_credit_code, document_reference_id, sap_entries
from exporters.sales_detail import detail_of, line_text
from ledger import failpoints
from ledger.money import parse_major

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SFIN = "http://sap.com/xi/SAPSCORE/SFIN"
SOAP_ACTION = "http://sap.com/xi/SAPSCORE/SFIN/JournalEntryBulkCreateRequest"
POST_PATH = "/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi"
ODATA_PATH = "/sap/opu/odata/sap/API_JOURNALENTRYITEMBASIC_SRV/A_JournalEntryItemBasic"
LOOKUP_CHUNK = 20
FAILED_DOCUMENT = "0000000000"


def _element(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    child = etree.SubElement(parent, tag, attributes)
    if text is not None:
        child.text = text
    return child


def bulk_request(entries: list[JournalEntry], options: SapOptions) -> bytes:
    """One SOAP envelope holding every entry, deterministically."""
    created = f"{max(entry.accounting_date for entry in entries):%Y-%m-%d}T00:00:00Z"
    bulk_id = hashlib.sha256("\n".join(entry.external_id for entry in entries).encode()).hexdigest()[:32].upper()
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soapenv": SOAP_ENV, "sfin": SFIN})
    _element(envelope, f"{{{SOAP_ENV}}}Header")
    request = _element(_element(envelope, f"{{{SOAP_ENV}}}Body"), f"{{{SFIN}}}JournalEntryBulkCreateRequest")
    header = _element(request, "MessageHeader")
    _element(header, "ID", bulk_id)
    _element(header, "CreationDateTime", created)
    for number, entry in enumerate(entries, start=1):
        reference = document_reference_id(entry)
        create = _element(request, "JournalEntryCreateRequest")
        message = _element(create, "MessageHeader")
        _element(message, "ID", str(number))
        _element(message, "CreationDateTime", created)
        journal = _element(create, "JournalEntry")
        for tag, text in (
            ("OriginalReferenceDocumentType", "BKPFF"),
            ("OriginalReferenceDocument", reference),
            ("OriginalReferenceDocumentLogicalSystem", options.logical_system),
            ("BusinessTransactionType", "RFBU"),
            ("AccountingDocumentType", options.document_type),
            ("DocumentReferenceID", reference),
            ("DocumentHeaderText", entry.external_id[:HEADER_TEXT_LENGTH]),
            ("CreatedByUser", options.created_by_user),
            ("CompanyCode", options.company_code),
            ("DocumentDate", entry.accounting_date.isoformat()),
            ("PostingDate", entry.accounting_date.isoformat()),
        ):
            _element(journal, tag, text)
        for item_number, line in enumerate(entry.lines, start=1):
            item = _element(journal, "Item")
            _element(item, "ReferenceDocumentItem", str(item_number))
            _element(item, "GLAccount", line.sap_gl_account)
            _element(item, "AmountInTransactionCurrency", options.amount(line.amount_minor, line.currency), currencyCode=line.currency.upper())
            _element(item, "AmountInCompanyCodeCurrency", options.amount(line.functional_amount_minor, line.functional_currency),
                     currencyCode=line.functional_currency.upper())
            _element(item, "DebitCreditCode", debit_credit_code(line))
            _element(item, "DocumentItemText", line_text(line)[:ITEM_TEXT_LENGTH])
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_xml(lines: list[JournalLine], path: Path, options: SapOptions) -> ExportedFile:
    entries = sap_entries(lines, options)
    atomic_write_bytes(path, bulk_request(entries, options))
    accounts = {line.sap_gl_account: line.account_code for line in lines}
    return prove_totals(path, read_lines(path.read_bytes(), accounts), lines)


class SapSignError(ValueError):
    """An item whose DebitCreditCode and amount sign disagree."""


def read_lines(document: bytes, account_codes: dict[str, str]) -> list[JournalLine]:
    """Parse a bulk request back into lines keyed by DocumentReferenceID; checks S/H against the sign."""
    root = etree.fromstring(document)
    lines = []
    for journal in root.iter("JournalEntry"):
        reference = journal.findtext("DocumentReferenceID")
        for item in journal.iter("Item"):
            amount, functional = item.find("AmountInTransactionCurrency"), item.find("AmountInCompanyCodeCurrency")
            currency, functional_currency = amount.get("currencyCode").lower(), functional.get("currencyCode").lower()
            gl_account = item.findtext("GLAccount")
            line = parsed_line(reference, currency, account_codes.get(gl_account, gl_account), parse_major(amount.text, currency),
                               functional_currency, parse_major(functional.text, functional_currency), detail_of(item.findtext("DocumentItemText") or ""))
            if debit_credit_code(line) != item.findtext("DebitCreditCode"):
                raise SapSignError(f"{reference} item {item.findtext('ReferenceDocumentItem')}: {item.findtext('DebitCreditCode')} with amount {amount.text}")
            lines.append(line)
    return lines


@dataclass(frozen=True)
class SapEndpoint:
    """Where the SOAP service and the OData read-back live, and the communication user (Basic auth)."""

    base_url: str
    user: str = field(repr=False)
    password: str = field(repr=False)


@dataclass(frozen=True)
class SapPostResult:
    """One entry's outcome. status: posted | already_posted | failed."""

    external_id: str
    document_reference_id: str
    status: str
    accounting_document: str = ""
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status in ("posted", "already_posted")

    def describe(self) -> str:
        document = f" as {self.accounting_document}" if self.accounting_document else ""
        notes = f": {'; '.join(self.notes)}" if self.notes else ""
        return f"{self.external_id} ({self.document_reference_id}): {self.status}{document}{notes}"


class SapSoapClient:
    """Posts entries in bulk requests of `batch_size`, skipping the references SAP already holds."""

    def __init__(self, endpoint: SapEndpoint, options: SapOptions, batch_size: int = 50, concurrency: int = 2, policy: RetryPolicy = RetryPolicy()) -> None:
        self.endpoint = endpoint
        self.options = options
        self.batch_size = batch_size
        self._slots = threading.BoundedSemaphore(concurrency)
        self._policy = policy
        self._session = requests.Session()
        self._session.auth = (endpoint.user, endpoint.password)

    def posted_references(self, references: Iterable[str]) -> dict[str, str]:
        """DocumentReferenceID -> AccountingDocument for those the company code already holds (OData read-back)."""
        wanted = sorted(set(references))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[start:start + LOOKUP_CHUNK]
            condition = " or ".join(f"DocumentReferenceID eq '{reference}'" for reference in chunk)
            outcome = send(
                self._session, self._slots, self._policy, "GET", self.endpoint.base_url + ODATA_PATH,
                params={"$filter": f"CompanyCode eq '{self.options.company_code}' and ({condition})",
                        "$select": "DocumentReferenceID,AccountingDocument", "$format": "json"},
            )
            if outcome.response is None or outcome.response.status_code != 200:
                raise SapPostError(f"SAP read-back of posted journal entries failed: {self._reason(outcome.response, outcome.connection_error)}")
            for row in outcome.response.json()["d"]["results"]:
                found[row["DocumentReferenceID"]] = row["AccountingDocument"]
        return found

    def post(self, entries: list[JournalEntry]) -> list[SapPostResult]:
        results: list[SapPostResult] = []
        for start in range(0, len(entries), self.batch_size):
            results += self._post_batch(entries[start:start + self.batch_size])
        return results

    def _post_batch(self, batch: list[JournalEntry]) -> list[SapPostResult]:
        failpoints.reached("push.sap")
        references = {entry.external_id: document_reference_id(entry) for entry in batch}
        try:
            existing = self.posted_references(references.values())
        except SapPostError as error:
            return [SapPostResult(entry.external_id, references[entry.external_id], "failed", notes=(str(error),)) for entry in batch]
        done = {
            entry.external_id: SapPostResult(entry.external_id, references[entry.external_id], "already_posted", existing[references[entry.external_id]])
            for entry in batch if references[entry.external_id] in existing
        }
        to_post = [entry for entry in batch if entry.external_id not in done]
        if to_post:
            done.update(self._send(to_post, references))
        return [done[entry.external_id] for entry in batch]

    def _send(self, entries: list[JournalEntry], references: dict[str, str]) -> dict[str, SapPostResult]:
        outcome = send(
            self._session, self._slots, self._policy, "POST", self.endpoint.base_url + POST_PATH, idempotent=False,
            data=bulk_request(entries, self.options),
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": SOAP_ACTION},
        )
        response = outcome.response
        if response is None or response.status_code != 200:
            reason = self._reason(response, outcome.connection_error + "; the next push reads back what was posted")
            return {entry.external_id: SapPostResult(entry.external_id, references[entry.external_id], "failed", notes=(reason,)) for entry in entries}
        confirmations = _confirmations(response.content)
        results = {}
        for number, entry in enumerate(entries, start=1):
            document, notes = confirmations.get(str(number), (FAILED_DOCUMENT, ("no confirmation for this entry",)))
            status = "failed" if document == FAILED_DOCUMENT else "posted"
            results[entry.external_id] = SapPostResult(entry.external_id, references[entry.external_id], status, "" if status == "failed" else document, notes if status == "failed" else ())
        return results


    def _reason(self, response: requests.Response | None, connection_error: str) -> str:
        if response is None:
            return connection_error
        if response.status_code == 401:
            return f"HTTP 401: SAP refused the communication user {self.endpoint.user!r}"
        return f"HTTP {response.status_code}: {_fault(response.content)}"


class SapPostError(RuntimeError):
    """SAP did not answer a request the push needs."""


def _fault(content: bytes) -> str:
    try:
        return etree.fromstring(content).findtext(".//faultstring") or content[:200].decode(errors="replace")
    except etree.XMLSyntaxError:
        return content[:200].decode(errors="replace")


def _confirmations(content: bytes) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Per request number: the accounting document (0000000000 = failed) and the log notes."""
    root = etree.fromstring(content)
    found = {}
    for confirmation in root.iter("JournalEntryCreateConfirmation"):
        reference = confirmation.findtext("MessageHeader/ReferenceID")
        if reference is None:
            continue
        document = confirmation.findtext("JournalEntryCreateConfirmation/AccountingDocument") or FAILED_DOCUMENT
        notes = tuple(f"{item.findtext('Severity')}: {item.findtext('Note')}" for item in confirmation.iterfind("Log/Item"))
        found[reference] = (document, notes)
    return found
