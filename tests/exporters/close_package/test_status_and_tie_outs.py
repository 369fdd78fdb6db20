"""The package an auditor accepts: the status block shows each blocking proof's recorded result, the
lock and its history and where the package comes from; every control account is tied out with both
sides; the trial balance is also in the functional currency; the workbook reads as a report.
Figures are compared with the warehouse, queried here independently, to the minor unit."""

import dataclasses
import hashlib
import json
import re
import shutil
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest
from lxml import html as lxml_html

from exporters import xlsx
from exporters.close_package.close_data import CloseDataError
from exporters.close_package.html import render_html, write_html
from exporters.close_package.frozen import lock_with_packages
from exporters.close_package.package import build_close_packages
from exporters.close_package.status import FAILED, NOT_RECORDED, PASSED, ProofResult, ProofResults
from exporters.close_package.workbook import write_workbook
from exporters.publish import Destination
from ledger import period_close
from ledger.money import parse_major
from orchestration.defs.export.guard import blocking_checks
from tests.exporters.close_package.conftest import GENERATED_AT, PERIOD

pytestmark = pytest.mark.e2e


def document(package):
    return lxml_html.fromstring(Path(package.html.location).read_bytes())


def cells(row) -> list[str]:
    return [cell.text_content().strip() for cell in row.findall("td")]


def minor(text: str, currency: str) -> int:
    return parse_major(text.replace(",", ""), currency)


@pytest.fixture(scope="module")
def ledger(closed):
    """The warehouse's own figures for the period, by queries of this test."""
    with duckdb.connect(str(closed.settings.warehouse), read_only=True) as connection:
        def rows(sql, parameters=()):
            return connection.execute(sql, parameters).fetchall()

        controls = dict(rows("select account_role, account_code from accounting.gl_control_accounts"))
        closing = {(currency, account): balance for currency, account, balance in rows(
            "select currency, account_code, sum(amount_minor) from main.fct_journal_lines where entity_id = 'main' and period <= ? group by all", [PERIOD])}
        movement = {(currency, account): amount for currency, account, amount in rows(
            "select currency, account_code, sum(amount_minor) from main.fct_journal_lines where entity_id = 'main' and period = ? group by all", [PERIOD])}
        return {
            "controls": controls,
            "closing": closing,
            "movement": movement,
            "snapshot": {currency: (as_of, balance) for currency, as_of, balance in rows(
                "select currency, as_of, available_minor + pending_minor from raw.stripe_balance_snapshots "
                "qualify row_number() over (partition by currency order by as_of desc) = 1")},
            "last_transaction": rows("select max(created) from raw.stripe_balance_transactions")[0][0],
            "matched_deposits": dict(rows(
                "select currency, sum(amount_minor) from main.fct_payout_bank_matches where strftime(booking_date, '%Y-%m') = ? group by all", [PERIOD])),
            "payouts_in_transit": {payout: (currency, amount) for payout, currency, amount in rows(
                "select id, currency, amount from raw.stripe_payouts where status = 'in_transit'")},
            "ending_balance": dict(rows(
                "select currency, net_amount_minor from main.rpt_stripe_balance_rollforward where period = ? and category = 'ending_balance'", [PERIOD])),
            "functional": {account: amount for account, amount in rows(
                """
                select account_code, sum(functional_amount_minor) from (
                    select account_code, functional_amount_minor from main.fct_journal_lines_translated where entity_id = 'main' and period <= $period
                    union all
                    select account_code, functional_amount_minor from main.fct_fx_revaluation_lines where entity_id = 'main' and period <= $period
                ) group by all
                """, {"period": PERIOD})},
        }


# -- status block -----------------------------------------------------------------------------------

def test_the_status_block_shows_each_blocking_proofs_recorded_result(closed, package):
    """Each blocking proof of the code location has a row with the result the close's runs recorded."""
    rows = document(package).xpath("//table[@id='proofs']/tbody/tr")
    shown = {row.get("data-proof"): (row.get("data-result"), cells(row)[2]) for row in rows}
    assert sorted(shown) == sorted(f"{key.asset_key.to_user_string()}:{key.name}" for key in blocking_checks())
    recorded = {name: "passed" for name in closed.result.passed_checks} | {name: "warning" for name, _ in closed.result.warnings}
    for name, (result, evaluated_at) in shown.items():
        assert result == recorded[name.split(":")[1]], name
        datetime.strptime(evaluated_at, "%Y-%m-%d %H:%M:%S")  # a recorded time, not "never"
    proven = document(package).xpath("//p[@id='proven']")[0].text_content()
    assert f"all {len(shown)} blocking proofs passed" in proven


def test_a_failed_or_unrecorded_proof_is_never_shown_as_passed(package, tmp_path):
    failed = ProofResults((
        ProofResult("fct_journal_lines:journal_balances", "Every entry balances.", FAILED, GENERATED_AT, "3 unbalanced entries"),
        ProofResult("fct_journal_lines:gx_booked_once", "Booked once.", PASSED, GENERATED_AT, ""),
    ))
    page = lxml_html.fromstring(render_html(dataclasses.replace(package.data, proofs=failed)))
    assert [cells(row)[:2] + [cells(row)[3]] for row in page.xpath("//table[@id='proofs']/tbody/tr")] == [
        ["fct_journal_lines:journal_balances", "FAILED", "3 unbalanced entries"],
        ["fct_journal_lines:gx_booked_once", "passed", "Booked once."],
    ]
    assert page.xpath("//p[@id='proven']")[0].text_content().split() == "Proven: NO: 1 failed, 0 not evaluated, of 2 blocking proofs".split()

    unrecorded = dataclasses.replace(package.data, proofs=NOT_RECORDED)
    page = lxml_html.fromstring(render_html(unrecorded))
    assert page.xpath("//p[@id='proven']")[0].text_content().split() == "Proven: NOT EVALUATED".split()
    assert [cells(row) for row in page.xpath("//table[@id='proofs']/tbody/tr")] == [[NOT_RECORDED.unavailable]]
    workbook = write_workbook(unrecorded, tmp_path / "unrecorded.xlsx")
    assert xlsx.read_rows(workbook, "Status")[1] == ("Proven", "NOT EVALUATED", None, NOT_RECORDED.unavailable)


def test_provenance_names_the_entity_run_fingerprint_time_and_version(closed, package):
    provenance = {row.get("data-item"): row.findtext("td").strip() if row.find("td/span") is None else row.xpath("td/span")[0].text
                  for row in document(package).xpath("//table[@id='provenance']/tbody/tr")}
    # The ledger fingerprint is the one the period's export manifest carries for the same ledger.
    manifest = json.loads((closed.settings.export_dir / "main" / PERIOD / "manifest.json").read_text())
    assert {entry["ledger_run"]["fingerprint"] for entry in manifest["files"]} == {provenance["ledger-fingerprint"]}
    assert re.fullmatch(r"[0-9a-f]{64}", provenance["ledger-fingerprint"])
    assert provenance["entity"] == "ACME Robotics Inc (main)"
    assert provenance["dagster-run"] == "run-of-the-test"
    assert provenance["generated-at"] == "2026-11-03 09:15:00 UTC"
    assert re.fullmatch(r"stripe-close \d+\.\d+\.\d+.*", provenance["software-version"])
    assert [role.text_content().strip() for role in document(package).xpath("//div[@id='sign-off']/div/strong")] == ["Prepared by", "Reviewed by"]


def test_the_lock_its_reopen_reason_and_relock_are_shown(closed, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(closed.settings.warehouse, warehouse)
    lock_with_packages(warehouse, PERIOD, "main", "alice")
    period_close.reopen_period(warehouse, PERIOD, "late refund from the bank", "bob")
    lock = lock_with_packages(warehouse, PERIOD, "main", "carol")
    [package] = build_close_packages(warehouse, Destination(directory=tmp_path / "out"), [PERIOD], "main", generated_at=GENERATED_AT)
    page = document(package)
    assert page.xpath("//p[@id='lock']")[0].text_content().split() == f"Lock: locked by carol at {lock.locked_at:%Y-%m-%d %H:%M:%S} UTC".split()
    assert [cells(row)[:2] + cells(row)[3:] for row in page.xpath("//table[@id='period-events']/tbody/tr")] == [
        ["Lock", "alice", ""], ["Reopen", "bob", "late refund from the bank"], ["Lock", "carol", ""],
    ]


def test_a_line_without_a_functional_amount_is_refused_by_name(closed, tmp_path):
    """No rate, no functional trial balance and no fingerprint: one error naming the entity, period and line; nothing written."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(closed.settings.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as connection:
        (line,) = connection.execute(
            "update main.fct_journal_lines_translated set functional_amount_minor = null "
            "where journal_line_id = (select min(journal_line_id) from main.fct_journal_lines_translated where currency = 'jpy') returning journal_line_id"
        ).fetchone()
    with pytest.raises(CloseDataError, match=rf"^entity 'main' period 2026-10: 1 line\(s\) of period 2026-10 have no USD amount .*: {line} \(JPY on "):
        build_close_packages(warehouse, Destination(directory=tmp_path / "out"), [PERIOD], "main", generated_at=GENERATED_AT)
    assert not (tmp_path / "out").exists()


# -- tie-outs ---------------------------------------------------------------------------------------

def tie_out_rows(package) -> dict:
    """(currency, control) -> (ledger, other, difference) as printed; "not evaluated: ..." stays text."""
    result = {}
    for row in document(package).xpath("//table[contains(@class, 'tie-outs')]/tbody/tr[contains(@class, 'tie-out')]"):
        currency = row.get("data-currency")
        _, _, ledger, _, *other = cells(row)
        result[(currency, row.get("data-control"))] = (minor(ledger, currency), *(value if value.startswith("not evaluated") else minor(value, currency) for value in other))
    return result


def test_the_in_transit_list_sums_to_the_cash_in_transit_balance(package, ledger):
    page = document(package)
    listed = defaultdict(int)
    payouts = {}
    for row in page.xpath("//table[@id='in-transit']/tbody/tr"):
        payout, currency, _, _, amount = cells(row)
        payouts[payout] = (currency.lower(), minor(amount, currency.lower()))
        listed[currency.lower()] += minor(amount, currency.lower())
    assert payouts == ledger["payouts_in_transit"] and len(payouts) == 3
    transit = ledger["controls"]["cash_in_transit"]
    assert dict(listed) == {currency: balance for (currency, account), balance in ledger["closing"].items() if account == transit}
    ties = tie_out_rows(package)
    for currency, total in listed.items():
        assert ties[(currency, "cash_in_transit")] == (total, total, 0)
    sheet = xlsx.read_rows(Path(package.workbook.location), "In transit")[1:]
    assert {payout: (currency.lower(), parse_major(str(amount), currency.lower())) for payout, currency, _, _, amount in sheet} == payouts


def test_stripe_clearing_equals_stripe_balance_and_the_bank_movement_the_matched_deposits(package, ledger):
    ties = tie_out_rows(package)
    clearing, bank = ledger["controls"]["stripe_clearing"], ledger["controls"]["bank"]
    for currency in ("eur", "jpy", "usd"):
        as_of, snapshot = ledger["snapshot"][currency]
        assert as_of > ledger["last_transaction"]  # nothing to roll: the snapshot is Stripe's balance at the period end
        assert ties[(currency, "stripe_clearing")] == (ledger["closing"][(currency, clearing)], snapshot, ledger["closing"][(currency, clearing)] - snapshot)
        movement, deposits = ledger["movement"][(currency, bank)], ledger["matched_deposits"][currency]
        assert ties[(currency, "bank")] == (movement, deposits, movement - deposits)
        assert ties[(currency, "ending_balance")] == (ledger["ending_balance"][currency], ledger["ending_balance"][currency], 0)
    # The bank difference is the payouts the journal books as arrived without a deposit, less returns: nothing unexplained.
    unexplained = document(package).xpath("//tr[contains(@class, 'unexplained')]/td[last()]")
    assert [text.text_content().strip() for text in unexplained] == ["0.00", "0", "0.00"]


def test_the_ending_balance_reconciliation_adds_up_to_the_ending_balance(package, ledger):
    unsettled = defaultdict(int)
    for row in document(package).xpath("//table[@id='unsettled']/tbody/tr"):
        currency = row.get("data-currency")
        _, _, _, gross, fee, net = cells(row)
        assert minor(gross, currency) - minor(fee, currency) == minor(net, currency)
        unsettled[currency] += minor(net, currency)
    assert dict(unsettled) == ledger["ending_balance"]


# -- functional currency ----------------------------------------------------------------------------

def test_the_functional_trial_balance_equals_the_translated_ledger(package, ledger):
    table = document(package).xpath("//table[@id='functional-trial-balance']")[0]
    assert table.get("data-currency") == "usd"
    closing, notes = {}, {}
    for row in table.xpath("./tbody/tr"):
        account, _, _, opening, debits, credits, balance, note = cells(row)
        assert minor(opening, "usd") + minor(debits, "usd") - minor(credits, "usd") == minor(balance, "usd")
        closing[account] = minor(balance, "usd")
        notes[account] = note
    assert closing == {account: amount for account, amount in ledger["functional"].items()}
    # The FX accounts are there and named; the accounts the revaluation moved say so: the Stripe,
    # transit and bank balances, and the EUR VAT and JPY consumption tax payable (the sales split).
    assert (notes["7000"], notes["7010"]) == ("FX gain/loss", "FX gain/loss") and closing["7010"] != 0
    assert {account for account, note in notes.items() if note == "includes FX revaluation or rounding"} == {
        "1000", "1010", "1030", "2020", "2021", "2030"}
    assert minor(cells(table.xpath("./tfoot/tr")[0])[-2], "usd") == 0
    sheet = xlsx.read_rows(Path(package.workbook.location), "Functional TB")[1:]
    assert {account: parse_major(str(amount), "usd") for _, account, _, _, _, _, _, amount, _ in sheet} == closing


# -- the workbook as a report -----------------------------------------------------------------------

SNAKE_CASE = re.compile(r"\b[a-z]+_[a-z_]+\b")


def test_the_workbook_reads_as_a_report(package):
    workbook = openpyxl.load_workbook(package.workbook.location)
    assert workbook.sheetnames[:6] == ["Status", "Summary", "Tie-outs", "In transit", "Ending balance", "Trial balance"]
    assert workbook.properties.created == GENERATED_AT and workbook.properties.modified == GENERATED_AT
    for sheet in workbook.worksheets:
        header = next(sheet.iter_rows(max_row=1))
        assert sheet.freeze_panes == "A2", sheet.title
        assert all(cell.font.bold for cell in header), sheet.title
        assert sheet.auto_filter.ref == f"A1:{header[-1].column_letter}{sheet.max_row}", sheet.title
        assert all(sheet.column_dimensions[cell.column_letter].width >= len(str(cell.value)) for cell in header), sheet.title
        assert not [cell.value for cell in header if SNAKE_CASE.search(str(cell.value))], sheet.title
    labels = [row[1] for row in workbook["Reconciliation"].iter_rows(min_row=2, values_only=True)]
    labels += [row[0] for row in workbook["Exceptions"].iter_rows(min_row=2, values_only=True)]
    labels += [row[1] for row in workbook["Roll-forward"].iter_rows(min_row=2, values_only=True)]
    assert labels and not [label for label in labels if SNAKE_CASE.search(label)]
    formats = defaultdict(set)
    for currency, *_, opening, debits, credits, closing in workbook["Trial balance"].iter_rows(min_row=2):
        for cell in (opening, debits, credits, closing):
            formats[currency.value].add((cell.number_format, cell.alignment.horizontal))
    assert formats == {"EUR": {("#,##0.00", "right")}, "JPY": {("#,##0", "right")}, "USD": {("#,##0.00", "right")}}


def test_kwd_amounts_get_three_decimals(tmp_path):
    workbook = xlsx.new_workbook()
    xlsx.add_table(workbook, "Amounts", ("Currency", "Amount"), [("KWD", Decimal("-1234.567")), ("JPY", Decimal("1500"))])
    xlsx.save(workbook, tmp_path / "amounts.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "amounts.xlsx")["Amounts"]
    assert [(row[1].value, row[1].number_format) for row in sheet.iter_rows(min_row=2)] == [(-1234.567, "#,##0.000"), (1500, "#,##0")]


def test_the_same_close_data_renders_the_same_bytes(package, tmp_path):
    files = [write_html(package.data, tmp_path / f"{n}.html") for n in (1, 2)] + [write_workbook(package.data, tmp_path / f"{n}.xlsx") for n in (1, 2)]
    digests = [hashlib.sha256(path.read_bytes()).hexdigest() for path in files]
    assert digests[0] == digests[1] and digests[2] == digests[3]


def test_charts_without_data_are_one_sentence(package, tmp_path):
    quiet = dataclasses.replace(package.data, daily_volume=(), unmatched_payouts=())
    page = lxml_html.fromstring(render_html(quiet))
    assert [element.text_content() for element in page.xpath("//*[@class='no-chart']")] == [
        "No charges in 2026-10: nothing to chart.", "No unmatched payouts in 2026-10: nothing to chart."]
    assert not page.xpath("//svg")
    workbook = openpyxl.load_workbook(write_workbook(quiet, tmp_path / "quiet.xlsx"))
    assert workbook["Daily volume"]["A2"].value == "No charges in 2026-10: nothing to chart." and not workbook["Daily volume"]._charts
    assert workbook["Unmatched by age"]["A2"].value == "No unmatched payouts in 2026-10: nothing to chart."
