"""Every Stripe type and reporting category, booked by a real dbt build, line by line.

Granularity `transaction` gives each balance transaction its own journal entry, so each test row
is checked against the complete entry it should produce. The build runs on a copy of the project
whose bank matches (fct_payout_bank_matches) hold one confident match. Expected accounts follow the defaults of
reference/erp.md section 4 (seeds/gl_mapping_rules.csv holds them for accountants to edit).
"""

from collections import defaultdict

import pytest

from ledger.dbt_project import DBT_PROJECT_DIR
from tests.dbt.builders import build, land, payout, project_copy, query, small_world_ledger, statuses, transaction, ts

CLEARING, IN_TRANSIT, BANK, SUSPENSE = "1010", "1030", "1000", "9999"

# (type, reporting_category as Stripe sends it or None, account of the gross amount)
TYPES = [
    ("charge", "charge", "4000"), ("payment", "charge", "4000"), ("payment_failure_refund", "charge_failure", "4000"),
    ("payment_refund", "refund", "4900"), ("payment_reversal", None, "4000"), ("refund", "refund", "4900"),
    ("refund", "partial_capture_reversal", "4000"), ("refund_failure", "refund_failure", "4900"),
    ("adjustment", "dispute", "1200"), ("adjustment", "dispute_reversal", "1200"), ("adjustment", "other_adjustment", SUSPENSE),
    ("advance", "advance", "2300"), ("advance_funding", "advance_funding", "2300"),
    ("anticipation_repayment", "anticipation_repayment", "2300"), ("climate_order_purchase", "climate_order_purchase", "6300"),
    ("climate_order_refund", "climate_order_refund", "6300"), ("contribution", "contribution", "6300"),
    # The type rule is more specific than the category rule it would otherwise get (other_adjustment).
    ("obligation_outbound", "other_adjustment", "2300"), ("obligation_reversal_inbound", "other_adjustment", "2300"),
    ("payment_network_reserve_hold", "payment_network_reserve_hold", "1020"),
    ("payment_network_reserve_release", "payment_network_reserve_release", "1020"),
    ("payment_unreconciled", None, "2400"), ("payout_cancel", "payout_reversal", IN_TRANSIT),
    ("payout_minimum_balance_hold", "payout_minimum_balance_hold", "1020"),
    ("payout_minimum_balance_release", "payout_minimum_balance_release", "1020"),
    ("reserved_funds", "risk_reserved_funds", "1020"), ("reserve_hold", None, "1020"), ("reserve_release", None, "1020"),
    ("reserve_transaction", "connect_reserved_funds", "1020"), ("stripe_fee", "fee", "6000"), ("stripe_fx_fee", "fee", "6000"),
    ("tax_fee", "tax", "6010"), ("topup", "topup", BANK), ("topup_reversal", "topup_reversal", BANK),
    ("application_fee", "platform_earning", "4100"), ("application_fee_refund", "platform_earning_refund", "4100"),
    ("connect_collection_transfer", "connect_collection_transfer", "1400"), ("transfer", "transfer", "2200"),
    ("transfer_cancel", "transfer_reversal", "2200"), ("transfer_failure", "transfer_reversal", "2200"),
    ("transfer_refund", "transfer_reversal", "2200"), ("issuing_authorization_hold", "issuing_authorization_hold", "1300"),
    ("issuing_authorization_release", "issuing_authorization_release", "1300"), ("issuing_transaction", "issuing_transaction", "6200"),
    ("issuing_dispute", "issuing_dispute", "6200"), ("issuing_dispute_provisional_credit", "issuing_dispute_provisional_credit", "6200"),
    ("issuing_dispute_provisional_credit_reversal", "issuing_dispute_provisional_credit_reversal", "6200"),
    ("inbound_transfer", None, BANK), ("inbound_transfer_reversal", None, BANK), ("fee_credit_funding", None, "6000"),
    ("stripe_balance_payment_debit", None, "6000"), ("stripe_balance_payment_debit_reversal", None, "6000"),
    ("tax_fund", None, "2000"), ("validation", "charge", "4000"), ("recipient_transfer", "transfer", "2200"),
    ("recipient_transfer_cancel", "transfer_reversal", "2200"), ("recipient_transfer_failure", "transfer_reversal", "2200"),
    ("transferred_to_balance_transaction", "unreconciled_customer_funds", "2400"),
]
# Every reporting category, carried by a type that has no rule of its own, so the category decides.
CATEGORIES = {
    "advance": "2300", "advance_funding": "2300", "anticipation_repayment": "2300", "charge": "4000", "charge_failure": "4000",
    "climate_order_purchase": "6300", "climate_order_refund": "6300", "connect_collection_transfer": "1400",
    "connect_reserved_funds": "1020", "contribution": "6300", "dispute": "1200", "dispute_reversal": "1200", "fee": "6000",
    "financing_paydown": "2300", "financing_paydown_reversal": "2300", "financing_payout": "2300",
    "financing_payout_reversal": "2300", "issuing_authorization_hold": "1300", "issuing_authorization_release": "1300",
    "issuing_dispute": "6200", "issuing_transaction": "6200", "network_cost": "6000", "other_adjustment": SUSPENSE,
    "partial_capture_reversal": "4000", "payout": IN_TRANSIT, "payout_reversal": IN_TRANSIT, "platform_earning": "4100",
    "platform_earning_refund": "4100", "refund": "4900", "refund_failure": "4900", "risk_reserved_funds": "1020",
    "tax": "6010", "topup": BANK, "topup_reversal": BANK, "transfer": "2200", "transfer_reversal": "2200",
    "unreconciled_customer_funds": "2400", "payment_network_reserve_hold": "1020", "payment_network_reserve_release": "1020",
    "payout_minimum_balance_hold": "1020", "payout_minimum_balance_release": "1020", "issuing_disbursement": "1300",
    "issuing_dispute_fraud_liability_debit": "6200", "issuing_dispute_provisional_credit": "6200",
    "issuing_dispute_provisional_credit_reversal": "6200", "minimum_balance_hold": "1020", "obligation": "2300",
    "platform_fee": "4100", "stripe_fee": "6000", "stripe_fee_tax": "6010", "stripe_balance_payment_debit": "6000",
    "stripe_balance_payment_debit_reversal": "6000",
}
# (id, transaction, expected journal lines as {account: amount_minor}); fees split by fee_details.
FEE_CASES = [
    ("txn_fee_split", transaction("txn_fee_split", "charge", "charge", 10_000, 460, fee_details=[
        {"amount": 300, "application": None, "currency": "usd", "description": "Stripe processing fees", "type": "stripe_fee"},
        {"amount": 100, "application": "ca_platform", "currency": "usd", "description": "Application fee", "type": "application_fee"},
        {"amount": 60, "application": None, "currency": "usd", "description": "VAT", "type": "tax"},
    ]), {"4000": -10_000, "6000": 300, "6020": 100, "6010": 60, CLEARING: 9_540}),
    ("txn_dispute", transaction("txn_dispute", "adjustment", "dispute", -7_500, 1_500),
     {"1200": 7_500, "6100": 1_500, CLEARING: -9_000}),
    ("txn_dispute_won", transaction("txn_dispute_won", "adjustment", "dispute_reversal", 7_500, -1_500),
     {"1200": -7_500, "6100": -1_500, CLEARING: 9_000}),
    ("txn_fee_undetailed", transaction("txn_fee_undetailed", "charge", "charge", 2_000, 88, fee_details=[]),
     {"4000": -2_000, "6000": 88, CLEARING: 1_912}),
    ("txn_fee_partly_detailed", transaction("txn_fee_partly_detailed", "charge", "charge", 2_000, 90, fee_details=[
        {"amount": 30, "application": "ca_platform", "currency": "usd", "description": "Application fee", "type": "application_fee"},
    ]), {"4000": -2_000, "6020": 30, "6000": 60, CLEARING: 1_910}),
    ("txn_jpy", transaction("txn_jpy", "charge", "charge", 1_234_567, 44_444, currency="jpy", fee_details=[
        {"amount": 40_000, "application": None, "currency": "jpy", "description": "Stripe processing fees", "type": "stripe_fee"},
        {"amount": 4_444, "application": None, "currency": "jpy", "description": "Consumption tax", "type": "tax"},
    ]), {"4000": -1_234_567, "6000": 40_000, "6010": 4_444, CLEARING: 1_190_123}),
    ("txn_kwd", transaction("txn_kwd", "charge", "charge", 12_345, 458, currency="kwd"),
     {"4000": -12_345, "6000": 458, CLEARING: 11_887}),
]
UNKNOWN = transaction("txn_unknown", "brand_new_type", "brand_new_category", -321)


def case_transactions() -> list[tuple[dict, str]]:
    cases = []
    for index, (type_, category, account) in enumerate(TYPES):
        cases.append((transaction(f"txn_type_{index:02d}", type_, category, -1_000 - index if index % 2 else 1_000 + index), account))
    for index, (category, account) in enumerate(sorted(CATEGORIES.items())):
        cases.append((transaction(f"txn_category_{index:02d}", "adjustment", category, 2_000 + index), account))
    # A payout-category transaction moves money into cash in transit, which the proofs hold against
    # the payouts on their way: give each one an outgoing amount and its in-transit payout.
    return [
        (transaction(t["id"], t["type"], t["reporting_category"], -abs(t["amount"])) if account == IN_TRANSIT else t, account)
        for t, account in cases
    ]


def in_transit_payouts() -> list[dict]:
    return [
        payout(f"po_{t['id']}", -t["amount"], "in_transit", "2026-10-09", t["id"])
        for t, account in case_transactions() if account == IN_TRANSIT
    ]


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("mapping")
    path = workdir / "warehouse.duckdb"
    project = project_copy(workdir / "dbt_project")
    # The bank statement is not loaded here: the matching model is replaced by one confident match.
    (project / "models" / "marts" / "banking" / "fct_payout_bank_matches.sql").write_text(
        "select 'po_matched' as payout_id, 'bank-line-1' as bank_statement_line_id, date '2026-10-10' as booking_date,\n"
        "    date '2026-10-10' as value_date, 'usd' as currency, 4000::bigint as amount_minor, 0::bigint as difference_minor,\n"
        "    'trace_id' as match_rule, 1 as match_priority, 1.0 as confidence, 'in_transit' as payout_status,\n"
        "    date '2026-10-09' as arrival_date, 'USD-OPERATING' as bank_account_id, 'REF1' as bank_reference,\n"
        "    'statement.bai2' as file_name, 7 as file_line\n"
    )
    items = [transaction("txn_c1", "charge", "charge", 5_000), transaction("txn_c3", "charge", "charge", 3_000)]
    payout_transactions = [
        transaction("txn_po1", "payout", "payout", -5_000, created=ts("2026-10-06", 6)),
        transaction("txn_po2", "payout", "payout", -2_000, created=ts("2026-10-07", 6)),
        transaction("txn_po3", "payout", "payout", -3_000, created=ts("2026-10-06", 6)),
        transaction("txn_po3_failed", "payout_failure", "payout_reversal", 3_000, created=ts("2026-10-12", 15)),
        transaction("txn_po4", "payout", "payout", -4_000, created=ts("2026-10-07", 6)),
    ]
    payouts = [
        payout("po_paid", 5_000, "paid", "2026-10-08", "txn_po1"),
        payout("po_in_transit", 2_000, "in_transit", "2026-10-09", "txn_po2"),
        payout("po_matched", 4_000, "in_transit", "2026-10-09", "txn_po4"),
        payout("po_failed", 3_000, "failed", "2026-10-08", "txn_po3", failure_balance_transaction="txn_po3_failed"),
    ]
    links = [("po_paid", "txn_c1"), ("po_paid", "txn_po1"), ("po_failed", "txn_c3"), ("po_failed", "txn_po3")]
    everything = [t for t, _ in case_transactions()] + [t for _, t, _ in FEE_CASES] + [UNKNOWN] + items + payout_transactions
    totals = defaultdict(int)
    for t in everything:
        totals[t["currency"]] += t["net"]
    balance = {"available": [{"amount": amount, "currency": c} for c, amount in totals.items()], "pending": []}
    land(path, everything, payouts + in_transit_payouts(), links, balance)
    run = build(path, granularity="transaction", project_dir=project)
    return path, run


def journal_entry(path, entry_id: str) -> dict[str, int]:
    rows = query(path, "select account_code, amount_minor from main.fct_journal_lines where journal_entry_id = ?", [entry_id])
    return dict(rows)


@pytest.mark.parametrize("case", range(len(case_transactions())))
def test_each_type_and_category_books_its_journal_lines(mapped, case):
    path, _ = mapped
    booked, account = case_transactions()[case]
    expected = {account: -booked["amount"], CLEARING: booked["amount"]}
    assert journal_entry(path, f"STRIPE-main-{booked['id']}") == expected, (booked["type"], booked["reporting_category"])


@pytest.mark.parametrize("case", [c[0] for c in FEE_CASES])
def test_fees_split_by_fee_details_and_currencies_stay_exact(mapped, case):
    path, _ = mapped
    _, _, expected = next(c for c in FEE_CASES if c[0] == case)
    assert journal_entry(path, f"STRIPE-main-{case}") == expected


def test_an_unknown_category_goes_to_suspense_with_a_warning(mapped):
    path, run = mapped
    assert journal_entry(path, "STRIPE-main-txn_unknown") == {SUSPENSE: 321, CLEARING: -321}
    assert statuses(run)["assert_no_suspense_postings"] == "warn"
    assert query(path, "select reason, suspense_amount_minor from main.rpt_suspense_postings where balance_transaction_id = 'txn_unknown'") == [
        ("unmapped reporting_category brand_new_category / type brand_new_type", 321)]


def test_every_proof_passes_on_consistent_data(mapped):
    _, run = mapped
    singular = {path.stem for path in (DBT_PROJECT_DIR / "tests").glob("*.sql")}
    proofs = {name: status for name, status in statuses(run).items() if name in singular}
    assert set(proofs) >= {
        "booked_once", "journal_balances", "trial_balance_ties",
        "assert_stripe_balance_rolls_forward", "payouts_equal_their_transactions",
        "clearing_equals_stripe_balance", "lines_tie_to_sources",
    }
    # Warnings (money in suspense, a ledger no balance snapshot covers) report; every proof passes.
    warnings = {"assert_no_suspense_postings", "snapshot_covers_ledger"}
    assert {name: s for name, s in proofs.items() if name not in warnings} == dict.fromkeys([n for n in proofs if n not in warnings], "pass")


def test_payouts_move_through_cash_in_transit_to_the_bank(mapped):
    path, _ = mapped
    assert journal_entry(path, "STRIPE-main-txn_po1") == {IN_TRANSIT: 5_000, CLEARING: -5_000}
    # Paid: to the bank on its arrival date (no bank match exists yet).
    assert journal_entry(path, "STRIPE-main-po_paid-ARRIVAL") == {BANK: 5_000, IN_TRANSIT: -5_000}
    assert query(path, "select distinct accounting_date::varchar from main.fct_journal_lines where journal_entry_id = 'STRIPE-main-po_paid-ARRIVAL'") == [("2026-10-08",)]
    # In transit: stays in cash in transit.
    assert journal_entry(path, "STRIPE-main-po_in_transit-ARRIVAL") == {}
    # Matched at the bank while Stripe still says in transit: to the bank on the match's booking date.
    assert journal_entry(path, "STRIPE-main-po_matched-ARRIVAL") == {BANK: 4_000, IN_TRANSIT: -4_000}
    assert query(path, "select distinct accounting_date::varchar from main.fct_journal_lines where journal_entry_id = 'STRIPE-main-po_matched-ARRIVAL'") == [("2026-10-10",)]
    # Failed after arriving: in, returned by the bank on the failure date, and reversed out of Stripe.
    assert journal_entry(path, "STRIPE-main-po_failed-ARRIVAL") == {BANK: 3_000, IN_TRANSIT: -3_000}
    assert journal_entry(path, "STRIPE-main-po_failed-RETURN") == {BANK: -3_000, IN_TRANSIT: 3_000}
    assert journal_entry(path, "STRIPE-main-txn_po3_failed") == {IN_TRANSIT: -3_000, CLEARING: 3_000}
    balances = dict(query(path, "select account_code, balance_minor from main.rpt_trial_balance where currency = 'usd' and account_code in ('1000', '1030')"))
    in_transit_elsewhere = sum(p["amount"] for p in in_transit_payouts())
    assert balances == {BANK: 9_000 - sum(t["amount"] for t, a in case_transactions() if a == BANK), IN_TRANSIT: 2_000 + in_transit_elsewhere}


def test_reports_print_major_units_exactly(mapped):
    path, _ = mapped
    activity = dict(query(path, "select currency, net_amount from main.rpt_stripe_balance_rollforward where category = 'activity' and currency in ('jpy', 'kwd')"))
    assert activity == {"jpy": "1190123", "kwd": "11.887"}
    reconciled = query(path, "select automatic_payout_id, balance_transaction_id, gross, fee, net, net_minor from main.rpt_payout_reconciliation order by 1")
    assert reconciled == [("po_failed", "txn_c3", "30.00", "0.00", "30.00", 3_000), ("po_paid", "txn_c1", "50.00", "0.00", "50.00", 5_000)]


def test_the_drill_down_names_every_balance_transaction_of_a_daily_line():
    path = small_world_ledger()
    [(amount,)] = query(path, "select amount_minor from main.fct_journal_lines where journal_line_id = 'STRIPE-main-20261002-USD-4000'")
    sources = query(path, """
        select source_id, amount_minor from main.fct_journal_line_sources
        where journal_line_id = 'STRIPE-main-20261002-USD-4000' order by source_id""")
    day = dict(query(path, """
        select id, reporting_category from raw.stripe_balance_transactions
        where currency = 'usd' and created::date = date '2026-10-02'"""))
    gross = dict(query(path, """
        select id, amount from raw.stripe_balance_transactions
        where currency = 'usd' and created::date = date '2026-10-02' and reporting_category in ('charge', 'partial_capture_reversal')"""))
    # Only the day's sales, and refunds of a sale (the sales split reverses them on the revenue account
    # of the sale they return); every charge of the day is named by one of the day's revenue lines
    # (4000, or the account of its product or category).
    assert len(sources) > 5
    named_by_the_days_lines = {source_id for (source_id,) in query(path, """
        select source_id from main.fct_journal_line_sources
        where journal_line_id like 'STRIPE-main-20261002-USD-4%'""")}
    assert set(gross) <= named_by_the_days_lines and len(gross) > 5
    assert {day[source_id] for source_id, _ in sources} <= {"charge", "partial_capture_reversal", "refund"}
    # A charge credits revenue (its sale's revenue parts under the sales split, before contra-revenue
    # discounts); the daily line is the sum of what it names.
    assert all(source_amount < 0 for source_id, source_amount in sources if day[source_id] == "charge")
    assert sum(source_amount for _, source_amount in sources) == amount


def test_foreign_currency_entries_translate_exactly_and_rounding_books_to_fx(mapped):
    path, run = mapped
    assert statuses(run)["assert_translated_entries_balance"] == "pass"
    translated = {
        (entry, account): (amount, rate, functional, is_fx)
        for entry, account, amount, rate, functional, is_fx in query(path, """
            select journal_entry_id, account_code, amount_minor, fx_rate::varchar, functional_amount_minor, is_fx_difference
            from main.fct_journal_lines_translated where journal_entry_id in ('STRIPE-main-txn_jpy', 'STRIPE-main-txn_kwd')""")
    }
    # 1,234,567 JPY at 0.006712 USD (rate of 2026-10-01) = 8,286.413704 USD -> 828,641 cents.
    assert translated[("STRIPE-main-txn_jpy", "4000")] == (-1_234_567, "0.006712000000", -828_641, False)
    # 12.345 KWD at 3.2611 USD = 40.2582795 USD -> 4,026 cents.
    assert translated[("STRIPE-main-txn_kwd", "4000")] == (-12_345, "3.261100000000", -4_026, False)
    for entry in ("STRIPE-main-txn_jpy", "STRIPE-main-txn_kwd"):
        assert sum(functional for (e, _), (_, _, functional, _) in translated.items() if e == entry) == 0
    fx_lines = {key: value for key, value in translated.items() if value[3]}
    assert all(account == "7000" and amount == 0 for (_, account), (amount, _, _, _) in fx_lines.items())
