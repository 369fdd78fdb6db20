"""Warnings stored with statement files (any format) become `bank_file_warning` reconciliation exceptions."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ledger import warehouse
from ledger.sources.bank.inbox import FolderInbox, load_inbox
from orchestration.bench_match import dbt_build_bank_models

# Trailing SUB and a blank 49 control total: two warnings (records: account 4, group 6, file 8).
ODD_BAI2 = """\
01,121140399,3333333333,240102,1720,1,,,2/
02,3333333333,121140399,1,240102,,USD,2/
03,3333333333,USD,010,100000,,,015,108325,,/
16,165,8325,0,BANKREF1,CUSTREF1,STRIPE TRANSFER ST-K3J9X2LQ8W1Z
88,ACME ROBOTICS INC
49,,4/
98,216650,1,6/
99,216650,1,8/
\x1a"""

# A :61: without a type code, and a closing balance 1.00 EUR above opening + entries.
ODD_MT940 = """\
:20:STMT1
:25:DE89370400440532013000
:60F:C240102EUR100,00
:61:2401020102C83,25po_1//BANKREF2
:62F:C240102EUR184,25
-
"""

# camt.053 whose closing balance is 6.75 EUR above opening + entries: a warning, as in every format.
GAP_CAMT = """\
<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2024-01-02T23:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><CreDtTm>2024-01-02T23:00:00</CreDtTm>
<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-01-02</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">190.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-01-02</Dt></Dt></Bal>
<Ntry><Amt Ccy="EUR">83.25</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2024-01-02</Dt></BookgDt><AcctSvcrRef>BANKREF4</AcctSvcrRef></Ntry>
</Stmt></BkToCstmrStmt></Document>
"""

CLEAN_MT940 = ODD_MT940.replace("C83,25po_1", "C83,25NTRFpo_1").replace("EUR184,25", "EUR183,25")


def test_each_warning_of_the_current_file_versions_is_an_exception_row(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "odd.bai2").write_text(ODD_BAI2, encoding="utf-8")
    (inbox / "odd.sta").write_text(ODD_MT940, encoding="utf-8")
    (inbox / "gap.xml").write_text(GAP_CAMT, encoding="utf-8")
    (inbox / "clean.sta").write_text(CLEAN_MT940.replace("BANKREF2", "BANKREF3"), encoding="utf-8")
    warehouse_file = tmp_path / "warehouse.duckdb"
    with warehouse.connect(warehouse_file) as connection:
        load_inbox(connection, FolderInbox(inbox))
    # A corrected odd.sta replaces the first: its version's warnings replace those of version 1.
    (inbox / "odd.sta").write_text(CLEAN_MT940, encoding="utf-8")
    with warehouse.connect(warehouse_file) as connection:
        load_inbox(connection, FolderInbox(inbox))

    result = dbt_build_bank_models(warehouse_file)
    assert result.returncode == 0, result.stdout + result.stderr

    with duckdb.connect(str(warehouse_file), read_only=True) as connection:
        rows = connection.execute(
            """
            select file_name, description, currency, amount_minor, entity_id, age_business_days
            from main.fct_reconciliation_exceptions
            where exception_type = 'bank_file_warning'
            order by file_name, description
            """
        ).fetchall()
        (distinct_ids,) = connection.execute(
            "select count(distinct exception_id) from main.fct_reconciliation_exceptions where exception_type = 'bank_file_warning'"
        ).fetchone()
    assert rows == [
        (
            "gap.xml",
            "statement S1 EUR closing balance (CLBD) at line 7 says 19000, but the file adds up to 18325: entries may"
            " be missing from this file",
            None, None, None, 0,
        ),
        (
            "odd.bai2",
            "line 6: a 49 account trailer without a control total: the account's total is not checked (its record"
            " count is, and the 98 and 99 totals include it)",
            None, None, None, 0,
        ),
        (
            "odd.bai2",
            "line 9: control bytes 0x1A at the end of the file are not part of any record: ignored",
            None, None, None, 0,
        ),
        (
            "odd.sta",
            "odd.sta changed since version 1: loaded as version 2, whose lines replace those of version 1 (ask the"
            " bank why a statement file was sent again with other content)",
            None, None, None, 0,
        ),
    ]
    assert distinct_ids == 4
