"""camt.052/053/054: a small valid statement, its malformed variants, and the statement assertions."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.sources.bank import parse_statement_file

VALID = """\
<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>M1</MsgId><CreDtTm>2024-01-02T08:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>S1</Id>
      <CreDtTm>2024-01-02T08:00:00</CreDtTm>
      <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-01-02</Dt></Dt></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">183.25</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-01-02</Dt></Dt></Bal>
      <Ntry>
        <Amt Ccy="EUR">83.25</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2024-01-02</Dt></BookgDt>
        <ValDt><Dt>2024-01-03</Dt></ValDt>
        <AcctSvcrRef>BANKREF1</AcctSvcrRef>
        <BkTxCd/>
        <NtryDtls><TxDtls><Refs><EndToEndId>po_1</EndToEndId></Refs><RmtInf><Ustrd>STRIPE PAYOUT</Ustrd></RmtInf></TxDtls></NtryDtls>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""
NTRY_LINE = VALID.splitlines().index("      <Ntry>") + 1
ENTRY_PATH = "/Document/BkToCstmrStmt/Stmt[1]/Ntry[1]"


def variant(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new)


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), start=1) if fragment in line)


def test_valid_statement(bank_file) -> None:
    parsed = parse_statement_file(bank_file("ok.xml", VALID))
    (entry,) = parsed.entries
    assert parsed.format == "camt.053"
    assert (entry.account_id, entry.amount_minor, entry.currency, entry.direction, entry.status) == (
        "DE89370400440532013000",
        8325,
        "eur",
        "credit",
        "booked",
    )
    assert (entry.booking_date, entry.value_date, entry.line) == (date(2024, 1, 2), date(2024, 1, 3), NTRY_LINE)
    assert (entry.bank_reference, entry.customer_reference, entry.text) == ("BANKREF1", "po_1", "STRIPE PAYOUT")
    assert [(c.stated, c.computed, c.ok) for c in parsed.checks] == [(18325, 18325, True)]


@pytest.mark.parametrize(
    ("text", "element", "reason"),
    [
        pytest.param(
            variant("<Dt>2024-01-02</Dt></BookgDt>", "<Dt>2024-02-30</Dt></BookgDt>"),
            f"{ENTRY_PATH}/BookgDt/Dt",
            "'2024-02-30' is not a calendar date",
            id="bad-date",
        ),
        pytest.param(
            variant('"EUR">83.25<', '"EUR">83.255<'),
            f"{ENTRY_PATH}/Amt",
            "more decimals than EUR allows",
            id="too-many-decimals",
        ),
        pytest.param(
            variant('"EUR">83.25<', '"EUR">-83.25<'), f"{ENTRY_PATH}/Amt", "not an unsigned decimal", id="signed-amount"
        ),
        pytest.param(
            variant("<Sts>BOOK</Sts>", "<Sts>DONE</Sts>"), ENTRY_PATH, "entry status (Sts) is 'DONE'", id="bad-status"
        ),
        pytest.param(
            variant("<CdtDbtInd>CRDT</CdtDbtInd>\n", "\n"),
            ENTRY_PATH,
            "CdtDbtInd is None, not CRDT or DBIT",
            id="no-direction",
        ),
        pytest.param(
            variant("<BookgDt><Dt>2024-01-02</Dt></BookgDt>", ""),
            ENTRY_PATH,
            "the entry has no booking date",
            id="no-booking-date",
        ),
        pytest.param(
            variant("<IBAN>DE89370400440532013000</IBAN>", ""),
            "/Document/BkToCstmrStmt/Stmt[1]",
            "names no account",
            id="no-account",
        ),
    ],
)
def test_malformed_statements_are_refused(refused, text: str, element: str, reason: str) -> None:
    error = refused("bad.xml", text)
    assert error.element == element
    assert reason in error.reason
    assert f"({element})" in str(error)


def test_truncated_xml_is_refused_with_the_line_where_it_breaks(refused) -> None:
    truncated = VALID[: VALID.index("<ValDt>")]
    error = refused("cut.xml", truncated)
    assert "not well-formed XML" in error.reason
    assert error.line == line_of(VALID, "<ValDt>")


def test_a_message_that_is_not_a_statement_is_refused(refused) -> None:
    error = refused(
        "pain.xml", '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"><CstmrCdtTrfInitn/></Document>'
    )
    assert "Document/CstmrCdtTrfInitn is not a camt.052, camt.053 or camt.054" in error.reason


def test_three_decimal_currencies_take_three_decimals(bank_file) -> None:
    kwd = VALID.replace("EUR", "KWD").replace('"KWD">83.25<', '"KWD">83.255<').replace("183.25", "183.255")
    (entry,) = parse_statement_file(bank_file("kwd.xml", kwd)).entries
    assert (entry.amount_minor, entry.currency) == (83255, "kwd")


def test_a_closing_balance_that_does_not_add_up_is_a_warning_not_a_refusal(bank_file) -> None:
    parsed = parse_statement_file(bank_file("gap.xml", variant('"EUR">183.25<', '"EUR">190.00<')))
    assert len(parsed.entries) == 1
    (check,) = parsed.checks
    assert (check.ok, check.stated, check.computed, check.line) == (False, 19000, 18325, line_of(VALID, "CLBD"))
    assert parsed.warnings == (
        "statement S1 EUR closing balance (CLBD) at line 10 says 19000, but the file adds up to 18325:"
        " entries may be missing from this file",
    )


def test_an_entry_in_another_currency_than_the_account_is_kept_with_a_warning(bank_file) -> None:
    parsed = parse_statement_file(bank_file("fx.xml", variant('<Amt Ccy="EUR">83.25', '<Amt Ccy="USD">83.25')))
    assert parsed.entries[0].currency == "usd"
    assert parsed.warnings[0] == (
        f"line {NTRY_LINE + 1} ({ENTRY_PATH}/Amt): amount in USD on an account kept in EUR (Acct/Ccy); it is kept in USD as written"
    )


def test_camt054_notification_and_pending_camt052_entries(bank_file) -> None:
    notification = (
        variant("camt.053.001.02", "camt.054.001.02")
        .replace("BkToCstmrStmt", "BkToCstmrDbtCdtNtfctn")
        .replace("<Stmt>", "<Ntfctn>")
        .replace("</Stmt>", "</Ntfctn>")
    )
    parsed = parse_statement_file(bank_file("notification.xml", notification))
    assert (parsed.format, parsed.entries[0].amount_minor) == ("camt.054", 8325)

    report = (
        variant("camt.053.001.02", "camt.052.001.02")
        .replace("BkToCstmrStmt", "BkToCstmrAcctRpt")
        .replace("<Stmt>", "<Rpt>")
        .replace("</Stmt>", "</Rpt>")
        .replace("<Sts>BOOK</Sts>", "<Sts>PDNG</Sts>")
        .replace("<BookgDt><Dt>2024-01-02</Dt></BookgDt>", "")
    )
    parsed = parse_statement_file(bank_file("report.xml", report))
    (entry,) = parsed.entries
    assert (parsed.format, entry.status, entry.booking_date) == ("camt.052", "pending", date(2024, 1, 3))
    assert [(c.stated, c.computed) for c in parsed.checks] == [(18325, 10000)]  # pending is not on the balance


def test_version_8_status_code_and_date_times(bank_file) -> None:
    text = (
        variant("camt.053.001.02", "camt.053.001.08")
        .replace("<Sts>BOOK</Sts>", "<Sts><Cd>BOOK</Cd></Sts>")
        .replace("<BookgDt><Dt>2024-01-02</Dt>", "<BookgDt><DtTm>2024-01-02T23:59:59.123456789+01:00</DtTm>")
    )
    (entry,) = parse_statement_file(bank_file("v8.xml", text)).entries
    assert (entry.status, entry.booking_date) == ("booked", date(2024, 1, 2))


# --- Dates with a time zone, reference fallbacks, foreign namespaces, transaction summaries -------


def test_dates_with_a_time_zone_suffix_are_read_as_written(bank_file) -> None:
    text = variant("<Dt>2024-01-02</Dt></BookgDt>", "<Dt>2024-01-02+02:00</Dt></BookgDt>").replace(
        "<Dt>2024-01-03</Dt></ValDt>", "<Dt>2024-01-03Z</Dt></ValDt>"
    )
    parsed = parse_statement_file(bank_file("tz.xml", text))
    (entry,) = parsed.entries
    assert (entry.booking_date, entry.value_date) == (date(2024, 1, 2), date(2024, 1, 3))


def test_a_date_with_a_malformed_time_zone_is_refused(refused) -> None:
    error = refused("tz.xml", variant("<Dt>2024-01-02</Dt></BookgDt>", "<Dt>2024-01-02+2</Dt></BookgDt>"))
    assert error.reason == "date '2024-01-02+2' is not an ISO date (YYYY-MM-DD)"


@pytest.mark.parametrize(
    ("refs", "expected"),
    [
        pytest.param(
            "<AcctSvcrRef>TX-REF-9</AcctSvcrRef><EndToEndId>po_1</EndToEndId>", "TX-REF-9", id="transaction-acctsvcrref"
        ),
        pytest.param("<InstrId>INSTR-4</InstrId><EndToEndId>po_1</EndToEndId>", "po_1", id="end-to-end-id"),
        pytest.param("<InstrId>INSTR-4</InstrId><EndToEndId>NOTPROVIDED</EndToEndId>", "INSTR-4", id="instruction-id"),
    ],
)
def test_without_an_entry_reference_the_transaction_references_are_the_bank_reference(
    bank_file, refs: str, expected: str
) -> None:
    text = variant("<AcctSvcrRef>BANKREF1</AcctSvcrRef>\n", "\n").replace(
        "<Refs><EndToEndId>po_1</EndToEndId></Refs>", f"<Refs>{refs}</Refs>"
    )
    (entry,) = parse_statement_file(bank_file("refs.xml", text)).entries
    assert entry.bank_reference == expected


def test_the_entry_reference_wins_over_transaction_references(bank_file) -> None:
    text = variant("<AcctSvcrRef>BANKREF1</AcctSvcrRef>\n", "<NtryRef>NTRY-7</NtryRef>\n").replace(
        "<Refs><EndToEndId>po_1</EndToEndId></Refs>", "<Refs><AcctSvcrRef>TX-REF-9</AcctSvcrRef></Refs>"
    )
    (entry,) = parse_statement_file(bank_file("refs.xml", text)).entries
    assert entry.bank_reference == "NTRY-7"


def test_a_batch_without_entry_reference_joins_its_transaction_references(bank_file) -> None:
    two_details = (
        "<NtryDtls><TxDtls><Refs><AcctSvcrRef>TX-A</AcctSvcrRef></Refs></TxDtls>"
        "<TxDtls><Refs><AcctSvcrRef>TX-B</AcctSvcrRef></Refs></TxDtls></NtryDtls>"
    )
    text = variant("<AcctSvcrRef>BANKREF1</AcctSvcrRef>\n", "\n").replace(
        "<NtryDtls><TxDtls><Refs><EndToEndId>po_1</EndToEndId></Refs><RmtInf><Ustrd>STRIPE PAYOUT</Ustrd></RmtInf></TxDtls></NtryDtls>",
        two_details,
    )
    (entry,) = parse_statement_file(bank_file("batch.xml", text)).entries
    assert entry.bank_reference == "TX-A TX-B"


def test_a_camt_body_under_a_foreign_namespace_is_refused_naming_it(refused) -> None:
    error = refused("pain.xml", variant("camt.053.001.02", "pain.001.001.03"))
    assert error.line == line_of(VALID, "<BkToCstmrStmt>")
    assert error.reason == (
        "BkToCstmrStmt under the namespace 'urn:iso:std:iso:20022:tech:xsd:pain.001.001.03', which is not a"
        " camt.053 namespace: the file is not a bank statement as ISO 20022 defines it"
    )


def test_a_statement_without_namespace_is_read(bank_file) -> None:
    text = variant(' xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"', "")
    assert parse_statement_file(bank_file("bare.xml", text)).entries[0].amount_minor == 8325


SUMMARY = (
    "<TxsSummry><TtlNtries><NbOfNtries>{count}</NbOfNtries></TtlNtries>"
    "<TtlCdtNtries><NbOfNtries>{credits}</NbOfNtries><Sum>{credit_sum}</Sum></TtlCdtNtries>"
    "<TtlDbtNtries><NbOfNtries>0</NbOfNtries><Sum>0</Sum></TtlDbtNtries></TxsSummry>\n      <Ntry>"
)


def with_summary(count: int, credits: int, credit_sum: str) -> str:
    return variant("<Ntry>", SUMMARY.format(count=count, credits=credits, credit_sum=credit_sum))


def test_a_transaction_summary_that_adds_up_is_recorded(bank_file) -> None:
    parsed = parse_statement_file(bank_file("sum.xml", with_summary(1, 1, "83.25")))
    assert [(c.name, c.stated, c.computed) for c in parsed.checks] == [
        ("statement S1 EUR closing balance (CLBD)", 18325, 18325),
        ("statement S1 entry count (TtlNtries)", 1, 1),
        ("statement S1 entry count (TtlCdtNtries)", 1, 1),
        ("statement S1 credit sum (TtlCdtNtries)", 8325, 8325),
        ("statement S1 entry count (TtlDbtNtries)", 0, 0),
        ("statement S1 debit sum (TtlDbtNtries)", 0, 0),
    ]
    assert parsed.warnings == ()


def test_a_transaction_summary_that_disagrees_with_the_entries_refuses_the_file(refused) -> None:
    text = with_summary(2, 2, "183.25")
    error = refused("short.xml", text)
    summary_line = line_of(text, "<TxsSummry>")
    assert error.line == summary_line
    assert error.reason.startswith(
        f"statement S1 entry count (TtlNtries) at line {summary_line} says 2, but the file adds up to 1;"
        f" statement S1 entry count (TtlCdtNtries) at line {summary_line} says 2, but the file adds up to 1;"
        f" statement S1 credit sum (TtlCdtNtries) at line {summary_line} says 18325, but the file adds up to 8325."
    )
    assert "control_totals='warn' (CLI: --accept-control-total-mismatch)" in error.reason


def test_a_transaction_summary_mismatch_is_accepted_as_warnings_on_request(bank_file) -> None:
    parsed = parse_statement_file(bank_file("short.xml", with_summary(2, 1, "83.25")), control_totals="warn")
    assert [e.amount_minor for e in parsed.entries] == [8325]
    assert parsed.warnings == (
        f"statement S1 entry count (TtlNtries) at line {line_of(with_summary(2, 1, '83.25'), '<TxsSummry>')}"
        " says 2, but the file adds up to 1",
    )


def test_the_net_total_of_the_summary_is_checked(refused) -> None:
    net = "<TtlNtries><NbOfNtries>1</NbOfNtries><TtlNetNtry><Amt>83.25</Amt><CdtDbtInd>DBIT</CdtDbtInd></TtlNetNtry></TtlNtries>"
    text = variant("<Ntry>", f"<TxsSummry>{net}</TxsSummry>\n      <Ntry>")
    error = refused("net.xml", text)
    assert error.reason.startswith(
        f"statement S1 net sum (TtlNtries/TtlNetNtry) at line {line_of(text, '<TxsSummry>')} says -8325,"
        " but the file adds up to 8325."
    )
