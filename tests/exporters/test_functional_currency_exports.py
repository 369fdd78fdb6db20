"""NetSuite and SAP files for an entity whose functional currency (EUR) differs from its Stripe
settlement currency (USD): both amounts and the rate, equal to the translated journal.

The ledger is a real dbt build of tests/dbt/fx_world.py's `eu` entity; rates are hand-checkable.
"""

import csv
import dataclasses

import pytest
from lxml import etree

from exporters import netsuite, sap_soap, sap_template
from exporters.journal import ExportTotalsError, net_by_currency_and_account, prove_totals
from exporters.netsuite import NetSuiteOptions
from exporters.period_export import load_ledgers
from exporters.sap import SapOptions
from tests.dbt.builders import query
from tests.dbt.fx_world import EU_TRANSACTIONS, fx_project, land_and_build

PERIOD = "2026-10"
DAY_ONE = "STRIPE-eu-20261005-USD"
REVALUATION = "STRIPE-eu-REVAL-202610-USD"


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("functional-exports")
    warehouse = workdir / "warehouse.duckdb"
    land_and_build(warehouse, fx_project(workdir / "dbt_project"), "eu", EU_TRANSACTIONS)
    [period] = load_ledgers(warehouse, [PERIOD], "eu")
    return warehouse, period.lines


def functional_journal(warehouse) -> dict[tuple[str, str], int]:
    """Per (functional currency, account): the translated journal plus the revaluations of the period."""
    rows = query(warehouse, """
        select functional_currency, account_code, sum(functional_amount_minor)::bigint from (
            select * from main.fct_journal_lines_translated union all by name select * from main.fct_fx_revaluation_lines
        ) where period = ? group by all""", [PERIOD])
    return {(currency, account): amount for currency, account, amount in rows if amount}


def test_the_ledger_translates_usd_into_eur_and_revalues_the_usd_balances(ledger):
    warehouse, _ = ledger
    assert functional_journal(warehouse) == {
        # Oct 5: 100.01 USD at 0.92155 = 92.1642 EUR; fee 3.33 -> 3.0688; net 96.68 -> 89.0955, rounding 1 cent.
        # Oct 6: 123.45 -> 113.7653; fee 3.71 -> 3.4190; net 119.74 -> 110.3464.
        ("eur", "4000"): -9_216 - 11_377, ("eur", "6000"): 307 + 342, ("eur", "7000"): -1,
        # Oct 31: clearing 216.42 USD at 0.9301 = 201.2922 EUR, carried 89.10 + 110.35: +1.84.
        ("eur", "1010"): 8_910 + 11_035 + 184, ("eur", "7010"): -184,
    }


def netsuite_rows(ledger, tmp_path) -> list[dict[str, str]]:
    _, lines = ledger
    path = tmp_path / "netsuite.csv"
    netsuite.write_csv(lines, path, NetSuiteOptions(subsidiary="2"))
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


def test_netsuite_rows_carry_the_rate_and_the_functional_amounts(ledger, tmp_path):
    rows = netsuite_rows(ledger, tmp_path)
    day_one = {row["Journal Entry -Line: Account"]: row for row in rows if row["External ID"] == DAY_ONE}
    assert {account: (row["Currency"], row["Exchange Rate"], row["Journal Entry -Line: Debit"], row["Journal Entry -Line: Credit"],
                      row["Functional Currency"], row["Functional Debit"], row["Functional Credit"]) for account, row in day_one.items()} == {
        "1010 Stripe Clearing": ("USD", "0.92155", "96.68", "", "EUR", "89.10", ""),
        "4000 Revenue": ("USD", "0.92155", "", "100.01", "EUR", "", "92.16"),
        "6000 Stripe Processing Fees": ("USD", "0.92155", "3.33", "", "EUR", "3.07", ""),
        "7000 FX Gain/Loss": ("USD", "0.92155", "", "", "EUR", "", "0.01"),
    }
    revaluation = {row["Journal Entry -Line: Account"]: row for row in rows if row["External ID"] == REVALUATION}
    assert {account: (row["Currency"], row["Exchange Rate"], row["Journal Entry -Line: Debit"], row["Journal Entry -Line: Credit"],
                      row["Functional Debit"], row["Functional Credit"]) for account, row in revaluation.items()} == {
        "1010 Stripe Clearing": ("EUR", "1", "1.84", "", "1.84", ""),
        "7010 Unrealized FX Gain/Loss": ("EUR", "1", "", "1.84", "", "1.84"),
    }


def test_netsuite_and_sap_files_hold_the_translated_journal_in_functional_currency(ledger, tmp_path):
    warehouse, lines = ledger
    accounts = query(warehouse, "select account_code, netsuite_account, sap_gl_account from accounting.gl_accounts")
    netsuite_path, comma_path, xml_path = tmp_path / "ns.csv", tmp_path / "sap.csv", tmp_path / "sap.xml"
    options = SapOptions(company_code="2000")
    netsuite.write_csv(lines, netsuite_path, NetSuiteOptions(subsidiary="2"))
    sap_template.write_csv(lines, comma_path, options)
    sap_soap.write_xml(lines, xml_path, options)
    with comma_path.open(newline="") as stream:
        sap_rows = list(csv.reader(stream))
    parsed = {
        "netsuite": netsuite.read_lines(netsuite_path, {ns: code for code, ns, _ in accounts}),
        "sap template": sap_template.read_journal_lines(sap_rows, {sap: code for code, _, sap in accounts}, "."),
        "sap soap": sap_soap.read_lines(xml_path.read_bytes(), {sap: code for code, _, sap in accounts}),
    }
    expected = functional_journal(warehouse)
    for name, written in parsed.items():
        assert net_by_currency_and_account(written, functional=True) == expected, name
        assert net_by_currency_and_account(written) == net_by_currency_and_account(lines), name
    # The SAP header says the rate and the company code's currency; SOAP items both amounts.
    headers = [row for row in sap_rows if len(row) > 10 and row[0].isdigit()]
    assert {(row[7], row[8], row[10]) for row in headers} == {("USD", "0.92155", "EUR"), ("EUR", "1", "EUR")}
    items = {
        (item.getparent().findtext("DocumentHeaderText"), item.findtext("GLAccount")): (
            item.findtext("AmountInTransactionCurrency"), item.findtext("AmountInCompanyCodeCurrency"), item.findtext("DebitCreditCode"))
        for item in etree.fromstring(xml_path.read_bytes()).iter("Item")
    }
    assert items[DAY_ONE, "0000110100"] == ("96.68", "89.10", "S")
    assert items[DAY_ONE, "0000700000"] == ("0.00", "-0.01", "H")
    # The SAP header text holds the first 25 characters of the external id.
    assert items[REVALUATION[:25], "0000701000"] == ("-1.84", "-1.84", "H")


def test_the_export_proof_catches_a_functional_amount_that_differs(ledger, tmp_path):
    _, lines = ledger
    path = tmp_path / "netsuite.csv"
    netsuite.write_csv(lines, path, NetSuiteOptions(subsidiary="2"))
    written = netsuite.read_lines(path, {line.netsuite_account: line.account_code for line in lines})
    fee = next(index for index, line in enumerate(written) if line.account_code == "6000")
    changed = [*written[:fee], dataclasses.replace(written[fee], functional_amount_minor=written[fee].functional_amount_minor + 1), *written[fee + 1:]]
    with pytest.raises(ExportTotalsError, match=r"functional EUR 6000': \(650, 649\)"):
        prove_totals(path, changed, lines)
    assert not path.exists()
