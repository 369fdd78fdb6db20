"""Overlapping camt files whose entries carry references only per transaction count each entry once."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ledger import warehouse
from ledger.sources.bank.inbox import FolderInbox, load_inbox
from orchestration.bench_match import dbt_build_bank_models

STATEMENT = """\
<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>{message}</MsgId><CreDtTm>2026-10-0{day}T08:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>{message}</Id>
      <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
{entries}
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""
ENTRY = """\
      <Ntry>
        <Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2026-10-0{day}+02:00</Dt></BookgDt>
        <NtryDtls><TxDtls><Refs><AcctSvcrRef>TX-{day}</AcctSvcrRef><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
          <RmtInf><Ustrd>STRIPE PAYMENTS EUROPE ST-K3J9X2LQ8W{day}Z</Ustrd></RmtInf></TxDtls></NtryDtls>
      </Ntry>"""


def test_the_same_entries_in_two_overlapping_camt_files_count_once(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    entries = {day: ENTRY.format(day=day, amount=f"{day}00.00") for day in (1, 2, 3)}
    # Days 1-2 in the first file, days 2-3 in the second: day 2 is in both, with no NtryRef.
    (inbox / "week-a.xml").write_text(STATEMENT.format(message="A", day=2, entries="\n".join([entries[1], entries[2]])))
    (inbox / "week-b.xml").write_text(STATEMENT.format(message="B", day=3, entries="\n".join([entries[2], entries[3]])))
    warehouse_file = tmp_path / "warehouse.duckdb"
    with warehouse.connect(warehouse_file) as connection:
        outcomes = load_inbox(connection, FolderInbox(inbox))
    assert [(o.name, o.status, o.lines) for o in outcomes] == [("week-a.xml", "loaded", 2), ("week-b.xml", "loaded", 2)]

    result = dbt_build_bank_models(warehouse_file, with_tests=False)
    assert result.returncode == 0, result.stdout + result.stderr
    with duckdb.connect(str(warehouse_file), read_only=True) as connection:
        lines = connection.execute(
            "select bank_reference, booking_date::varchar, signed_amount_minor"
            " from main.int_bank_statement_lines_deduplicated order by booking_date"
        ).fetchall()
    assert lines == [("TX-1", "2026-10-01", 10000), ("TX-2", "2026-10-02", 20000), ("TX-3", "2026-10-03", 30000)]
