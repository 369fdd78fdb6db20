"""The NetSuite and SAP files and the close package of the shared four-currency ledger
(tests/dbt/builders.py) carry the sales split: the files its lines, revenue, discounts, shipping and
each jurisdiction's tax account, as the journal books them, every entry balanced, each line naming
its product or jurisdiction so that the ERP ties to the revenue and tax marts; the package those
marts, per period and entity, saying why when a table is empty. The exporters read the journal
lines: this proves the split passes through them untouched. NetSuite refuses KWD (3 decimals) by
default (docs/exports.md), so its file carries the other three currencies."""

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest
from lxml import html as lxml_html

from exporters.close_package.frozen_data import decode, encode
from exporters.close_package.html import render_html
from exporters.close_package.package import build_close_packages
from exporters.close_package.presentation import display_amount
from exporters.close_package.revenue_detail import REVENUE_SHEET, TAX_SHEET, revenue_detail
from exporters.period_export import export_periods, file_name
from exporters.sales_detail import load_line_details
from exporters.publish import Destination
from ledger.money import to_major
from exporters.settings import ExportSettings
from tests.dbt.builders import copy_ledger, four_currency_sales_ledger, query
from tests.exporters.test_export_e2e import PERIOD, ledger_net, parse_file

SPLIT_ACCOUNTS = {"2010", "2011", "2012", "2020", "2021", "2030", "4010", "4020", "4050", "4200"}


@pytest.mark.parametrize("target, name", [
    ("netsuite", "netsuite_journal_entries.csv"), ("sap", "sap_journal_entries_comma.csv"), ("sap", "sap_journal_entry_bulk_create_request.xml"),
])
def test_erp_files_carry_the_split_lines_and_balance(tmp_path, target, name):
    _, built = four_currency_sales_ledger()
    ledger = copy_ledger(built, tmp_path / "ledger")
    # parse_file knows the export's file names for its own period, which the shared world shares.
    assert query(ledger, "select distinct period from main.fct_journal_lines") == [(PERIOD,)]
    [exported] = export_periods(ledger, ExportSettings.from_env({"CLOSE_EXPORT_DIR": str(tmp_path / "exports")}), target, [PERIOD])
    [written] = [file.path for file in exported.files if file.path.name == file_name(name, "main", PERIOD)]
    lines = parse_file(written)

    by_entry: dict[tuple[str, str], int] = defaultdict(int)
    net: dict[tuple[str, str], int] = defaultdict(int)
    for line in lines:
        by_entry[line.external_id, line.currency] += line.amount_minor
        net[line.currency, line.account_code] += line.amount_minor
    assert set(by_entry.values()) == {0}
    carried = {currency for currency, _ in net}
    assert carried >= {"usd", "eur", "jpy"}
    # The journal plus the month-end revaluations (in the functional currency), for the currencies carried.
    journal = {(currency, account): amount for (currency, account), amount in ledger_net(ledger).items() if currency in carried}
    assert {key: amount for key, amount in net.items() if amount} == journal
    assert SPLIT_ACCOUNTS <= {account for _, account in net}


@pytest.mark.parametrize("target, name", [
    ("netsuite", "netsuite_journal_entries.csv"), ("sap", "sap_journal_entries_comma.csv"), ("sap", "sap_journal_entry_bulk_create_request.xml"),
])
def test_erp_lines_name_their_product_and_jurisdiction_and_tie_to_the_marts(tmp_path, target, name):
    """Read back from the file alone, the lines naming a product (or category) sum to its net revenue in
    rpt_revenue_by_product, and those naming a jurisdiction on a tax account to its tax payable in
    rpt_tax_payable_by_jurisdiction, per currency, to the minor unit."""
    _, built = four_currency_sales_ledger()
    ledger = copy_ledger(built, tmp_path / "ledger")
    [exported] = export_periods(ledger, ExportSettings.from_env({"CLOSE_EXPORT_DIR": str(tmp_path / "exports")}), target, [PERIOD])
    [written] = [file.path for file in exported.files if file.path.name == file_name(name, "main", PERIOD)]
    lines = parse_file(written)
    carried = {line.currency for line in lines}

    by_detail: dict[tuple[str, str], int] = defaultdict(int)
    by_detail_and_account: dict[tuple[str, str, str], int] = defaultdict(int)
    for line in lines:
        by_detail[line.currency, line.detail] += line.amount_minor
        by_detail_and_account[line.currency, line.detail, line.account_code] += line.amount_minor

    revenue = query(ledger, """
        select currency, coalesce('product ' || product_id, 'category ' || revenue_category), sum(net_revenue_minor)
        from main.rpt_revenue_by_product where entity_id = 'main' and period = ? group by all""", [PERIOD])
    revenue = {(currency, detail): amount for currency, detail, amount in revenue if currency in carried}
    tax = query(ledger, """
        select currency, 'jurisdiction ' || jurisdiction, account_code, tax_payable_minor
        from main.rpt_tax_payable_by_jurisdiction where entity_id = 'main' and period = ? and jurisdiction is not null""", [PERIOD])
    tax = {(currency, detail, account): amount for currency, detail, account, amount in tax if currency in carried}

    # A line whose parts straddle debit and credit stays whole (so the file ties to the trial balance):
    # its parts are found in the ledger and added to what the file names.
    with duckdb.connect(str(ledger), read_only=True) as connection:
        details = load_line_details(connection, "main", PERIOD)
    journal = {(entry, account): (currency, amount) for entry, account, currency, amount in query(ledger, """
        select journal_entry_id, account_code, currency, amount_minor from main.fct_journal_lines
        where entity_id = 'main' and period = ?""", [PERIOD])}
    for key, parts in details.items():
        currency, amount = journal[key]
        rest = amount - sum(part for _, part in parts)
        if currency in carried and any((part > 0) != (amount > 0) for part in [part for _, part in parts] + ([rest] if rest else []) if part):
            for detail, part in parts:
                by_detail[currency, detail] += part
                by_detail_and_account[currency, detail, key[1]] += part
    assert any(detail for _, detail in by_detail), "no line itemized"

    assert len(revenue) >= 6 and len(tax) >= 6
    # Credits are negative in the file's lines, revenue and tax payable positive in the marts.
    assert {key: -by_detail[key] for key in revenue} == revenue
    assert {key: -by_detail_and_account[key] for key in tax} == tax
    # Every detail the file names is a mart row: nothing itemized under a name the marts do not know.
    named = {(currency, detail) for currency, detail in by_detail if detail}
    assert named == set(revenue) | {(currency, detail) for currency, detail, _ in tax}


def _marts(ledger: Path) -> tuple[dict, dict]:
    """The revenue and tax marts of the main entity's period, queried here independently of the package."""
    revenue = query(ledger, """
        select currency, coalesce(product_id, ''), coalesce(revenue_category, ''), sales_minor, discounts_minor, credited_minor, refunded_minor, net_revenue_minor
        from main.rpt_revenue_by_product where entity_id = 'main' and period = ?""", [PERIOD])
    tax = query(ledger, """
        select currency, coalesce(jurisdiction, ''), account_code, tax_collected_minor, tax_credited_minor, tax_refunded_minor, tax_payable_minor
        from main.rpt_tax_payable_by_jurisdiction where entity_id = 'main' and period = ?""", [PERIOD])
    return {row[:3]: row[3:] for row in revenue}, {row[:3]: row[3:] for row in tax}


def test_the_close_package_shows_revenue_by_product_and_tax_by_jurisdiction(tmp_path):
    _, built = four_currency_sales_ledger()
    ledger = copy_ledger(built, tmp_path / "ledger")
    revenue, tax = _marts(ledger)
    assert {key[0] for key in revenue} == {"usd", "eur", "jpy", "kwd"} and {key[0] for key in tax} >= {"usd", "eur", "jpy"}
    [package] = build_close_packages(ledger, Destination(directory=tmp_path / "package"), [PERIOD], "main", generated_at=datetime(2026, 11, 3, 9, 15))
    detail = package.data.revenue_detail
    assert (detail.products_empty, detail.taxes_empty, detail.incomplete, detail.not_evaluated) == ("", "", "", False)

    document = lxml_html.fromstring(Path(package.html.location).read_bytes())
    shown = {
        (row.get("data-currency"), row.get("data-product"), row.get("data-category")): [cell.text_content().strip() for cell in row.findall("td")][3:]
        for row in document.xpath("//table[@id='revenue-by-product']/tbody/tr")
    }
    assert shown == {key: [display_amount(amount, key[0]) for amount in amounts] for key, amounts in revenue.items()}
    shown = {
        (row.get("data-currency"), row.get("data-jurisdiction"), row.get("data-account")): [cell.text_content().strip() for cell in row.findall("td")][3:]
        for row in document.xpath("//table[@id='tax-by-jurisdiction']/tbody/tr")
    }
    assert shown == {key: [display_amount(amount, key[0]) for amount in amounts] for key, amounts in tax.items()}

    workbook = openpyxl.load_workbook(package.workbook.location)
    sheet_net = defaultdict(Decimal)
    for currency, _, _, *amounts in list(workbook[REVENUE_SHEET].iter_rows(values_only=True))[1:]:
        sheet_net[currency.lower()] += Decimal(str(amounts[-1]))
    mart_net = defaultdict(int)
    for (currency, _, _), amounts in revenue.items():
        mart_net[currency] += amounts[-1]
    assert sheet_net == {currency: to_major(amount, currency) for currency, amount in mart_net.items()}
    sheet_tax = {(currency.lower(), account): Decimal(str(payable)) for currency, _, account, *_, payable in list(workbook[TAX_SHEET].iter_rows(values_only=True))[1:]
                 if account == "2011"}
    assert sheet_tax and sheet_tax == {(currency, account): to_major(amounts[-1], currency) for (currency, _, account), amounts in tax.items() if account == "2011"}

    # Frozen with a lock, the section reads back equal and renders the same bytes.
    assert decode(encode(package.data)) == package.data
    assert render_html(decode(encode(package.data))).encode() == Path(package.html.location).read_bytes()


def test_an_empty_revenue_section_says_why(tmp_path):
    """No source objects: not evaluated, with the charges left out; source objects but no invoice: no
    product revenue, said so; never an empty table or zeros."""
    _, built = four_currency_sales_ledger()
    ledger = copy_ledger(built, tmp_path / "ledger")
    [(charges,)] = query(ledger, """
        select count(*) from main.stg_stripe__balance_transactions
        where entity_id = 'main' and reporting_category = 'charge' and strftime(created_at, '%Y-%m') = ?""", [PERIOD])
    with duckdb.connect(str(ledger)) as connection:
        # What a merchant without invoices has: its charges, none paying an invoice, and no split.
        connection.execute("create table main.charge_documents as select * replace (cast(null as varchar) as invoice_id) from main.int_charge_sales_documents")
        # The model is a table: replaced by a view of the edited copy, which the steps below edit further.
        connection.execute("drop table main.int_charge_sales_documents")
        connection.execute("create view main.int_charge_sales_documents as select * from main.charge_documents")
        connection.execute("delete from main.rpt_revenue_by_product")
        connection.execute("delete from main.rpt_tax_payable_by_jurisdiction")
        without_invoices = revenue_detail(connection, "main", PERIOD)
        # Some of the period's charges without their source objects: the section says how many it leaves out.
        connection.execute("""
            delete from main.charge_documents where charge_id in (
                select source_id from main.stg_stripe__balance_transactions
                where entity_id = 'main' and reporting_category = 'charge' and strftime(created_at, '%Y-%m') = ? order by source_id limit 7)""", [PERIOD])
        partly = revenue_detail(connection, "main", PERIOD)
        # What a ledger without Stripe's source objects has: no charge documents at all.
        connection.execute("delete from main.charge_documents")
        without_sources = revenue_detail(connection, "main", PERIOD)
        with_no_sales = revenue_detail(connection, "main", "2026-01")

    assert charges > 100
    assert without_invoices.products_empty == (
        f"None by product: none of the {charges} charge(s) of {PERIOD} paid an invoice (a merchant without invoices has no product revenue), "
        "and charges without an invoice have no revenue category account (gl_sales_policy.csv uninvoiced_account_code, gl_revenue_accounts.csv "
        "match_on metadata): their revenue is booked by the mapping rules (see the trial balance).")
    assert without_invoices.taxes_empty.startswith(f"None: no tax was charged on main's sales in {PERIOD}")
    assert not without_invoices.not_evaluated and without_invoices.incomplete == ""
    assert partly.incomplete == (
        f"Incomplete: 7 of the {charges} charges of {PERIOD} have no source objects loaded; their revenue is booked "
        "whole to the mapping rules' accounts and is not in these tables.")
    assert without_sources.products_empty == without_sources.taxes_empty == (
        f"Not evaluated: Stripe's source objects (charges, invoices, products) were not loaded for the {charges} charge(s) of {PERIOD}, "
        "so their revenue is booked whole to the mapping rules' accounts (see the trial balance), not by product or jurisdiction; "
        "ingest them with their source objects (docs/ingestion.md)")
    assert without_sources.not_evaluated
    assert with_no_sales.products_empty == "None: main booked no charges in 2026-01."

    # The package says so where the tables would be, in the HTML (marked not evaluated) and in the sheets.
    [package] = build_close_packages(ledger, Destination(directory=tmp_path / "package"), [PERIOD], "main", generated_at=datetime(2026, 11, 3, 9, 15))
    document = lxml_html.fromstring(Path(package.html.location).read_bytes())
    for table in ("revenue-by-product", "tax-by-jurisdiction"):
        [row] = document.xpath(f"//table[@id='{table}']/tbody/tr")
        [cell] = row.findall("td")
        assert (cell.text_content().strip(), cell.get("class")) == (without_sources.products_empty, "not-evaluated")
    workbook = openpyxl.load_workbook(package.workbook.location)
    for sheet in (REVENUE_SHEET, TAX_SHEET):
        assert [row[0] for row in workbook[sheet].iter_rows(min_row=2, values_only=True)] == [without_sources.products_empty]
