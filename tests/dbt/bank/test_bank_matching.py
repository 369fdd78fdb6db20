"""Payout-to-bank matching (dbt on DuckDB) against the simulator's ground truth, with its noise."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from sandbox import stripe_objects
from sandbox.bank_deposits import BARE_DESCRIPTOR_PAYOUT_DAY, OTHER_STRIPE_ACCOUNT_TRACE, bank_account_id
from sandbox.bank_statements import BankAccountStatement, BankEntry, write_bai2
from sandbox.merchant import DAY, World, ts_date
from tests.dbt.bank.builder import MatchedWarehouse, build_matched_warehouse

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples" / "bank"


def payouts_by_status(world: World) -> dict[str, str]:
    return {row["id"]: stripe_objects.payout_status(row, world.as_of) for row in world.payouts.to_pylist()}


def test_every_paid_payout_matches_exactly_its_deposits(matched_world: MatchedWarehouse, small_world: World) -> None:
    status = payouts_by_status(small_world)
    amounts = {row["id"]: row["amount"] for row in small_world.payouts.to_pylist()}
    on_statements = [d for d in matched_world.deposits if d.booking_date <= ts_date(small_world.as_of - 1)]
    # The part of the payout each line covers: a split's line amount, else the payout's amount.
    expected = {
        (payout_id, deposit.bank_reference, deposit.amount_minor if len(deposit.payout_ids) == 1 else amounts[payout_id])
        for deposit in on_statements
        if deposit.direction == "credit"
        for payout_id in deposit.payout_ids
        if status[payout_id] == "paid"
    }
    actual = set(matched_world.query("select payout_id, bank_reference, amount_minor from main.fct_payout_bank_matches"))
    assert actual == expected
    assert len(expected) == 18  # 14 traced, 3 bare, 2 combined, a split in 2, minus the failed payout


def test_each_match_records_its_rule_and_confidence(matched_world: MatchedWarehouse) -> None:
    by_reference = {d.bank_reference: d for d in matched_world.deposits}
    rules = {}
    for payout_id, bank_reference, rule, confidence in matched_world.query(
        "select payout_id, bank_reference, match_rule, confidence from main.fct_payout_bank_matches"
    ):
        deposit = by_reference[bank_reference]
        kind = "combined" if len(deposit.payout_ids) > 1 else "bare" if deposit.customer_reference is None else "traced"
        rules.setdefault(kind, set()).add((rule, float(confidence)))
    assert rules == {
        "traced": {("trace_id", 1.0)},
        "bare": {("amount_descriptor", 0.95)},
        "combined": {("combined_deposit", 0.9)},
    }


def test_a_failed_payout_is_not_matched_and_its_return_pairs_with_the_failure(matched_world: MatchedWarehouse, small_world: World) -> None:
    [failed] = [p for p, s in payouts_by_status(small_world).items() if s == "failed"]
    credit, debit = sorted((d for d in matched_world.deposits if failed in d.payout_ids), key=lambda d: d.direction)
    assert matched_world.query(f"select count(*) from main.fct_payout_bank_matches where payout_id = '{failed}'") == [(0,)]
    [(amount, deposit_booked, return_booked, return_reference)] = matched_world.query(
        "select returns.amount_minor, returns.deposit_booking_date, returns.return_booking_date, lines.bank_reference "
        "from main.fct_payout_bank_returns as returns "
        "join main.stg_bank__statement_lines as lines on returns.return_line_id = lines.bank_statement_line_id "
        f"where returns.payout_id = '{failed}'"
    )
    assert (amount, deposit_booked, return_booked, return_reference) == (
        credit.amount_minor, credit.booking_date, debit.booking_date, debit.bank_reference,
    )


def test_exceptions_list_the_stripe_decoys_and_the_payouts_still_in_transit(matched_world: MatchedWarehouse, small_world: World) -> None:
    exceptions = matched_world.query(
        "select exception_type, payout_id, lines.statement_text, exceptions.amount_minor, age_business_days "
        "from main.fct_reconciliation_exceptions as exceptions "
        "left join main.stg_bank__statement_lines as lines using (bank_statement_line_id)"
    )
    decoys = sorted((amount, text) for kind, _, text, amount, _ in exceptions if kind == "unmatched_bank_line")
    bare_amounts = sorted(
        row["amount"] for row in small_world.payouts.to_pylist()
        if (row["created"] - small_world.spec.start_ts) // DAY == BARE_DESCRIPTOR_PAYOUT_DAY
    )
    # Only the decoys that look like Stripe: the other payer's credit of the same amount is no exception.
    assert decoys == [(amount, f"STRIPE TRANSFER {OTHER_STRIPE_ACCOUNT_TRACE} INITECH LLC") for amount in bare_amounts]
    assert all(age == 4 for kind, *_, age in exceptions if kind == "unmatched_bank_line")  # Tue 6 Oct -> Mon 12 Oct
    last_statement_day = ts_date(small_world.as_of - 1)
    deposited = {p for d in matched_world.deposits if d.booking_date <= last_statement_day for p in d.payout_ids}
    not_arrived = {
        row["id"] for row in small_world.payouts.to_pylist()
        if row["id"] not in deposited and stripe_objects.payout_status(row, small_world.as_of) in ("paid", "in_transit")
    }
    in_transit = {payout for kind, payout, *_ in exceptions if kind == "payout_in_transit"}
    assert in_transit == not_arrived and len(in_transit) == 12
    assert {kind for kind, *_ in exceptions} == {"unmatched_bank_line", "payout_in_transit"}


def graft_camt(sample: str, amount: str, booked: date, trace: str) -> str:
    entry = (
        f"<Ntry><Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>"
        f"<BookgDt><Dt>{booked.isoformat()}</Dt></BookgDt><ValDt><Dt>{booked.isoformat()}</Dt></ValDt>"
        f"<AcctSvcrRef>GRAFT-1</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
        f"<RmtInf><Ustrd>STRIPE TRANSFER {trace} ACME ROBOTICS INC</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n"
    )
    return sample.replace("  </Stmt>", entry + "  </Stmt>", 1)


def graft_mt940(sample: str, amount: str, booked: date, trace: str) -> str:
    entry = f":61:{booked:%y%m%d}{booked:%m%d}C{amount}NTRFNONREF//GRAFT-2\n:86:STRIPE TRANSFER {trace} ACME ROBOTICS INC\n"
    return sample.replace(":62F:", entry + ":62F:", 1)


@pytest.fixture(scope="module")
def grafted(small_world: World, tmp_path_factory: pytest.TempPathFactory) -> tuple[MatchedWarehouse, dict[str, dict]]:
    """Real sample files with a Stripe payout grafted in, and an ambiguous pair of bare deposits."""
    if not SAMPLES.is_dir():
        pytest.skip(f"sample bank files not found at {SAMPLES}")
    workdir = tmp_path_factory.mktemp("bank-grafted")
    inbox = workdir / "inbox"
    inbox.mkdir()
    payouts = [row for row in small_world.payouts.to_pylist() if stripe_objects.payout_status(row, small_world.as_of) == "paid"]
    eur = [row for row in payouts if row["currency"] == "eur"][:2]
    usd = next(row for row in payouts if row["currency"] == "usd" and row["failed_at"] is None)
    picked = {"camt": eur[0], "mt940": eur[1], "ambiguous": usd}
    for kind, row, sample, graft, separator in (
        ("camt", eur[0], "camt/viafintech_camt_parser__053_valid_example.xml", graft_camt, "."),
        ("mt940", eur[1], "mt940/wolph_mt940__jejik_ing.sta", graft_mt940, ","),
    ):
        amount = f"{row['amount'] // 100}{separator}{row['amount'] % 100:02d}"
        text = (SAMPLES / sample).read_text(encoding="utf-8")
        (inbox / f"grafted-{Path(sample).name}").write_text(graft(text, amount, ts_date(row["arrival_date"]), row["trace_id"]), encoding="utf-8")
    arrival = ts_date(usd["arrival_date"])
    twins = tuple(BankEntry(arrival, arrival, usd["amount"], "credit", f"TWIN-{n}", None, "STRIPE TRANSFER ACME ROBOTICS INC") for n in (1, 2))
    statement = BankAccountStatement(bank_account_id("usd"), "usd", arrival, arrival, 0, twins)
    write_bai2([statement], inbox / "twins.bai2", sender_id="121000248", receiver_id="ACME", file_id="7", created_at=datetime(2026, 10, 20, 6))
    return build_matched_warehouse(small_world, workdir, inbox), picked


def test_sample_files_with_a_grafted_stripe_payout_match_it(grafted) -> None:
    """The trace sits in the remittance text only, so the rule is reference_token."""
    warehouse, picked = grafted
    matches = warehouse.query("select payout_id, file_name, match_rule, amount_minor from main.fct_payout_bank_matches order by file_name")
    assert matches == [
        (picked["camt"]["id"], "grafted-viafintech_camt_parser__053_valid_example.xml", "reference_token", picked["camt"]["amount"]),
        (picked["mt940"]["id"], "grafted-wolph_mt940__jejik_ing.sta", "reference_token", picked["mt940"]["amount"]),
    ]
    # The samples' own entries are not Stripe's: none of them is matched or listed.
    assert warehouse.query("select count(*) from main.fct_reconciliation_exceptions where exception_type = 'unmatched_bank_line'") == [(0,)]


def test_two_candidates_are_never_auto_matched_but_listed_for_a_person(grafted) -> None:
    warehouse, picked = grafted
    payout = picked["ambiguous"]["id"]
    assert warehouse.query(f"select count(*) from main.fct_payout_bank_matches where payout_id = '{payout}'") == [(0,)]
    listed = warehouse.query(
        "select exception_type, match_rule, candidate_count, amount_minor from main.fct_reconciliation_exceptions "
        f"where payout_id = '{payout}'"
    )
    assert listed == [("ambiguous_candidates", "amount_descriptor", 2, picked["ambiguous"]["amount"])] * 2
