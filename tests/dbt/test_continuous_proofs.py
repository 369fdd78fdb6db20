"""The hourly run's proofs and late facts (issue 18, part 1): a windowed build proves the days it
rewrites, still catches a fault on them, and books what a charge sold when it lands late; its
journal and marts equal a whole build's, and so does every proof it runs."""

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from ledger import warehouse
from ledger.dbt_build import CloseWindow, LedgerBuildFailed, build_ledger, target_dir
from tests.dbt.builders import copy_ledger, four_currency_sales_ledger, land, query, small_world_ledger, transaction, ts

# What a windowed build must give as a whole build does: the journal and its drill-down, the trial
# balance, the roll-forward and the reconciliation marts.
MARTS = {
    "fct_journal_lines": "select * exclude (is_locked) from main.fct_journal_lines order by journal_line_id",
    "fct_journal_line_sources": """
        select journal_line_id, source_kind, source_id, line_role, amount_minor, accounting_date, original_accounting_date, is_adjustment
        from main.fct_journal_line_sources order by all""",
    "rpt_trial_balance": "select * from main.rpt_trial_balance order by all",
    "rpt_stripe_balance_rollforward": "select * from main.rpt_stripe_balance_rollforward order by all",
    "rpt_payout_reconciliation": "select * from main.rpt_payout_reconciliation order by all",
    "fct_reconciliation_exceptions": "select * from main.fct_reconciliation_exceptions order by all",
}
SALE_LANDED_LATE = "what a charge or refund sold landed since the last build"
# The singular proofs that read the journal: every windowed build runs them (the roll-forward's and the
# payouts' read only balance transactions, payouts and snapshots: they run when those land).
JOURNAL_PROOFS = (
    "booked_once", "journal_balances", "lines_tie_to_sources", "trial_balance_ties", "sales_split_ties_to_gross",
    "sales_documents_tie_to_totals", "tax_payable_ties_to_tax", "clearing_equals_stripe_balance",
)


def marts(path: Path) -> dict[str, list[tuple]]:
    return {name: query(path, sql) for name, sql in MARTS.items()}


def proof_results(path: Path) -> dict[str, tuple[str, int]]:
    """Each dbt test of the last build: its status and the rows it returned."""
    results = json.loads((target_dir(path) / "run_results.json").read_text())["results"]
    return {r["unique_id"]: (r["status"], r["failures"]) for r in results if r["unique_id"].startswith("test.")}


def last_window(path: Path) -> CloseWindow:
    """Yesterday and today of the world's last day, as the hourly schedule builds them."""
    [(last_day,)] = query(path, "select max(accounting_date) from main.fct_journal_lines where not is_adjustment")
    return CloseWindow(last_day - timedelta(days=1), last_day + timedelta(days=1))


def rebuilt_days(path: Path) -> dict[str, str]:
    return {day.isoformat(): reason for day, reason in query(path, "select * from main.int_journal_rebuild_days where accounting_date is not null")}


def hold_back(path: Path, held: dict[str, str]) -> None:
    """Remove the raw rows each `where` selects into main.held_<table>: as if Stripe had not listed them yet."""
    with warehouse.connect(path) as connection:
        for table, where in held.items():
            connection.execute(f"create table main.held_{table} as select * from {warehouse.landed_table(table)} where {where}")
            connection.execute(f"delete from {warehouse.landed_table(table)} where {where}")


def land_held_back(path: Path, tables) -> None:
    """The held rows land now, stamped with the time of the load as ingestion stamps them."""
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    with warehouse.connect(path) as connection:
        for table in tables:
            connection.execute(f"insert into {warehouse.landed_table(table)} select * replace (?::timestamp as _loaded_at) from main.held_{table}", [loaded_at])
            connection.execute(f"drop table main.held_{table}")


def test_what_a_charge_sold_landing_after_its_charge_was_booked_is_booked_by_a_windowed_build(tmp_path):
    """A product, a tax rate and an invoice with its line items that land after the charges they sold were
    booked: the hourly run rewrites the days of every charge and refund they split, as a whole
    build books them."""
    _, built = four_currency_sales_ledger()
    windowed = copy_ledger(built, tmp_path / "windowed")
    window = last_window(windowed)
    sold = """
        select document_id, product_id, tax_rate_id from main.int_balance_transaction_sales_split
        where split_basis = 'invoice' and accounting_date < ? and {}
        order by accounting_date, balance_transaction_id limit 1"""
    [(_, product_id, _)] = query(windowed, sold.format("product_id is not null"), [window.start])
    [(_, _, tax_rate_id)] = query(windowed, sold.format("tax_rate_id is not null"), [window.start])
    [(invoice_id, _, _)] = query(windowed, sold.format(
        f"document_id not in (select invoice_id from main.stg_stripe__invoice_line_items where product_id = '{product_id}') "
        "and document_id not in (select invoice_id from main.stg_stripe__credit_notes where invoice_id is not null)"), [window.start])
    # The days of the charges and refunds whose split those parts are in, before the window.
    split_days = {day.isoformat() for (day,) in query(windowed, """
        select distinct accounting_date from main.int_balance_transaction_sales_split
        where accounting_date < ? and (product_id = ? or tax_rate_id = ? or document_id = ?
            or document_id in (select credit_note_id from main.stg_stripe__credit_notes where invoice_id = ?))""",
        [window.start, product_id, tax_rate_id, invoice_id, invoice_id])}
    held = {
        "stripe_products": f"id = '{product_id}'",
        "stripe_tax_rates": f"id = '{tax_rate_id}'",
        "stripe_invoices": f"id = '{invoice_id}'",
        "stripe_invoice_line_items": f"invoice_id = '{invoice_id}'",
        "stripe_invoice_line_item_taxes": f"invoice_id = '{invoice_id}'",
        "stripe_invoice_line_item_discounts": f"invoice_id = '{invoice_id}'",
    }
    hold_back(windowed, held)
    build_ledger(windowed)  # the journal as it was booked before they landed
    before = marts(windowed)
    land_held_back(windowed, held)
    full = copy_ledger(windowed, tmp_path / "full")

    build_ledger(windowed, window=window)
    build_ledger(full)

    assert marts(windowed) == marts(full)
    assert marts(windowed)["fct_journal_lines"] != before["fct_journal_lines"]
    # The windowed build runs the tests of what the late rows reach (ledger.dbt_window_selection), each
    # with a whole build's result: every proof that reads the journal, not the tests of tables nothing landed in.
    windowed_proofs, whole_proofs = proof_results(windowed), proof_results(full)
    assert windowed_proofs.items() <= whole_proofs.items()
    assert {f"test.stripe_close.{proof}" for proof in JOURNAL_PROOFS} <= windowed_proofs.keys()
    assert [name for name in windowed_proofs if "stg_stripe__disputes" in name] == []
    assert [name for name in whole_proofs if "stg_stripe__disputes" in name] != []
    late_days = {day for day, reason in rebuilt_days(windowed).items() if SALE_LANDED_LATE in reason and day < window.start.isoformat()}
    assert split_days and split_days <= late_days


def planted_late_fact(path: Path) -> None:
    """A late fact before the window whose net is not its amount less its fee: the journal books
    gross, fee and net as Stripe gives them, so the entry is a unit off."""
    late = transaction("txn_planted_fault", "charge", "charge", 10_000, 320, created=ts("2026-10-06", 9))
    land(path, [{**late, "net": late["net"] + 1}])


def test_a_windowed_build_catches_a_fault_planted_on_a_day_it_rewrites_and_proves_every_day_after(tmp_path):
    windowed = copy_ledger(small_world_ledger(), tmp_path / "windowed")
    window = CloseWindow(date(2026, 10, 13), date(2026, 10, 15))
    planted_late_fact(windowed)

    with pytest.raises(LedgerBuildFailed) as raised:
        build_ledger(windowed, window=window)
    failures = {failure.name: failure.culprits for failure in raised.value.failures}
    assert failures["booked_once"] == (
        {"culprit": "usd", "problem": "balance transactions booked in USD do not sum to zero",
         "amount_minor": None, "gross_minor": None, "net_minor": None, "clearing_minor": 1},
    )
    assert failures["journal_balances"] == ({"journal_entry_id": "STRIPE-main-20261006-USD", "currency": "usd", "imbalance_minor": 1},)
    assert "2026-10-06" in rebuilt_days(windowed)

    # The failed build forgot the journal's mark: the next hourly run rewrites and proves every day,
    # so the fault is not passed over because its day was rewritten once.
    assert query(windowed, "select count(*) from close.journal_build_marks") == [(0,)]
    with pytest.raises(LedgerBuildFailed) as again:
        build_ledger(windowed, window=window)
    assert "booked_once" in [f.name for f in again.value.failures]
    assert query(windowed, "select accounting_date, reason from main.int_journal_rebuild_days") == [
        (None, "no earlier build on the same settings, seeds and models"),
    ]


def test_a_windowed_build_proves_a_payout_whose_link_landed_late(tmp_path):
    """A transaction Stripe lists late inside a payout of last week: the payout's day is outside the
    window, yet the hourly run proves that payout again and names it."""
    windowed = copy_ledger(small_world_ledger(), tmp_path / "windowed")
    window = CloseWindow(date(2026, 10, 13), date(2026, 10, 15))
    [(payout_id, amount_minor)] = query(windowed, """
        select payout_id, amount_minor from main.stg_stripe__payouts
        where is_automatic and reconciliation_status = 'completed' and currency = 'usd' and created_at < '2026-10-10'
        order by created_at, payout_id limit 1""")
    late = transaction("txn_late_in_payout", "charge", "charge", 5_000, 175, created=ts("2026-10-03", 9))
    land(windowed, [late], links=[(payout_id, "txn_late_in_payout")])

    with pytest.raises(LedgerBuildFailed) as raised:
        build_ledger(windowed, window=window)
    failures = {failure.name: failure.culprits for failure in raised.value.failures}
    assert [(row["payout_id"], row["payout_minor"], row["difference_minor"]) for row in failures["payouts_equal_their_transactions"]] == [
        (payout_id, amount_minor, 4_825),
    ]
    assert query(windowed, "select payout_id from main.int_journal_rebuild_payouts") == [(payout_id,)]
