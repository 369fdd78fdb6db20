"""The NetSuite and SAP files of the shared four-currency ledger (tests/dbt/builders.py) carry the
sales split's lines, revenue, discounts, shipping and each jurisdiction's tax account, as the
journal books them, and every entry in them balances. The exporters read the journal lines: this
proves the split passes through them untouched. NetSuite refuses KWD (3 decimals) by default
(docs/exports.md), so its file carries the other three currencies."""

from collections import defaultdict

import pytest

from exporters.period_export import export_periods, file_name
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
