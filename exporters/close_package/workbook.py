"""The close package as an XLSX workbook: one sheet per section, amounts as exact numeric cells in
major units (from minor units through `ledger.money`), and native Excel charts (openpyxl.chart)
over the chart sheets' own cells, so an accountant can re-cut them."""

from __future__ import annotations

from pathlib import Path

from openpyxl.chart import BarChart, Reference

from exporters import xlsx
from ledger.money import to_major
from exporters.close_package.adjustments import add_adjustments_sheet
from exporters.close_package.charts import period_days
from exporters.close_package.close_data import AGE_BUCKETS, CloseData
from exporters.close_package.presentation import STATUS_LABELS, none_in_suspense

TRIAL_BALANCE = "Trial balance"
ROLLFORWARD = "Roll-forward"
RECONCILIATION = "Reconciliation"
PAYOUTS = "Payouts"
EXCEPTIONS = "Exceptions"
DAILY_VOLUME = "Daily volume"
UNMATCHED_BY_AGE = "Unmatched by age"
SUSPENSE = "Suspense"


def write_workbook(data: CloseData, path: Path) -> Path:
    workbook = xlsx.new_workbook()
    headline = [
        row
        for figures in data.headline()
        for row in (
            (f"{figures.currency.upper()} Stripe ending balance", to_major(figures.stripe_ending_balance_minor, figures.currency)),
            *((
                (f"{figures.currency.upper()} payouts matched", figures.payouts_matched),
                (f"{figures.currency.upper()} unmatched payouts", figures.unmatched_payouts),
                (f"{figures.currency.upper()} unmatched payouts amount", to_major(figures.unmatched_payouts_minor, figures.currency)),
            ) if figures.bank_reconciled else ((f"{figures.currency.upper()} bank reconciliation", "NOT performed: no statements"),)),
        )
    ]
    not_performed = data.bank_coverage.describe()
    exceptions = len(data.exceptions) if not not_performed else (
        f"{len(data.exceptions)} (NOT evaluated against the bank for {', '.join(data.bank_coverage.unreconciled).upper()})")
    xlsx.add_sheet(workbook, "Summary", ("Item", "Value"), [
        ("Entity", data.entity_id), ("Period", data.period), ("Bank reconciliation as of", data.as_of_date),
        ("Lists the unassigned bank lines (default entity)", "yes" if data.lists_unassigned else "no"),
        ("Bank reconciliation", not_performed or "performed for every currency with payouts due at the bank"),
        *headline, ("Open exceptions", exceptions), ("Suspense postings", len(data.suspense_postings)),
        *((f"{currency.upper()} Stripe clearing = Stripe balance", problem) for currency, problem in data.balance_not_evaluated),
    ])
    xlsx.add_sheet(workbook, TRIAL_BALANCE, ("Currency", "Account", "Name", "Type", "Opening", "Debits", "Credits", "Closing"), [
        (line.currency.upper(), line.account_code, line.account_name, line.account_type,
         *(to_major(amount, line.currency) for amount in (line.opening_minor, line.debits_minor, line.credits_minor, line.closing_minor)))
        for line in data.trial_balance
    ])
    xlsx.add_sheet(workbook, ROLLFORWARD, ("Currency", "Category", "Line", "Amount"), [
        (line.currency.upper(), line.category, line.description, to_major(line.amount_minor, line.currency)) for line in data.rollforward
    ])
    xlsx.add_sheet(workbook, RECONCILIATION, ("Currency", "Status", "Description", "Count", "Amount", "Difference"), [
        (line.currency.upper(), line.status, STATUS_LABELS[line.status], line.count, to_major(line.amount_minor, line.currency),
         to_major(line.difference_minor, line.currency))
        for line in data.reconciliation
    ])
    xlsx.add_sheet(workbook, PAYOUTS, ("Payout", "Currency", "Status", "Description", "Amount", "Difference"), [
        (payout.payout_id, payout.currency.upper(), payout.status, STATUS_LABELS[payout.status], to_major(payout.amount_minor, payout.currency),
         to_major(payout.difference_minor, payout.currency))
        for payout in data.payouts
    ])
    xlsx.add_sheet(workbook, EXCEPTIONS, ("Type", "Currency", "Payout", "Bank line", "Amount", "Difference", "Since", "Age (business days)"), [
        (item.exception_type, item.currency.upper(), item.payout_id, item.bank_statement_line_id, to_major(item.amount_minor, item.currency),
         None if item.difference_minor is None else to_major(item.difference_minor, item.currency), item.reference_date, item.age_business_days)
        for item in data.exceptions
    ])
    xlsx.add_sheet(workbook, SUSPENSE, ("Balance transaction", "Accounting date", "Currency", "Amount (debit +)", "Reason", "Age (days)"), [
        (posting.balance_transaction_id, posting.accounting_date, posting.currency.upper(), to_major(posting.amount_minor, posting.currency),
         posting.reason, posting.age_days)
        for posting in data.suspense_postings
    ] or [(none_in_suspense(data.period),)])
    add_adjustments_sheet(workbook, data)
    _daily_volume(workbook, data)
    _unmatched_by_age(workbook, data)
    xlsx.save(workbook, path)
    return path


def _daily_volume(workbook, data: CloseData) -> None:
    """Day | one volume column per currency; one bar chart per currency (scales differ too much to share an axis)."""
    currencies = data.currencies
    volume = {(row.day, row.currency): row.volume_minor for row in data.daily_volume}
    days = period_days(data.period)
    xlsx.add_sheet(workbook, DAILY_VOLUME, ("Day", *(currency.upper() for currency in currencies)), [
        (day, *(to_major(volume.get((day, currency), 0), currency) for currency in currencies)) for day in days
    ])
    sheet = workbook[DAILY_VOLUME]
    for position, currency in enumerate(currencies):
        chart = _bar_chart(f"Daily charge volume, {currency.upper()}", "Day", currency.upper())
        chart.legend = None
        chart.add_data(Reference(sheet, min_col=position + 2, min_row=1, max_row=len(days) + 1), titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=len(days) + 1))
        sheet.add_chart(chart, f"{chr(ord('A') + len(currencies) + 2)}{2 + 16 * position}")


def _unmatched_by_age(workbook, data: CloseData) -> None:
    """Age bucket | one count column per currency; one bar chart with a series per currency."""
    counts = data.unmatched_by_age()
    xlsx.add_sheet(workbook, UNMATCHED_BY_AGE, ("Age (business days)", *(currency.upper() for currency in counts)), [
        (label, *(values[index] for values in counts.values())) for index, (label, _, _) in enumerate(AGE_BUCKETS)
    ])
    sheet = workbook[UNMATCHED_BY_AGE]
    chart = _bar_chart("Unmatched payouts by age", "Age (business days)", "Payouts")
    chart.add_data(Reference(sheet, min_col=2, max_col=len(counts) + 1, min_row=1, max_row=len(AGE_BUCKETS) + 1), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=len(AGE_BUCKETS) + 1))
    sheet.add_chart(chart, f"{chr(ord('A') + len(counts) + 2)}2")


def _bar_chart(title: str, x_title: str, y_title: str) -> BarChart:
    chart = BarChart()
    chart.type = "col"
    chart.title = title
    chart.x_axis.title = x_title
    chart.y_axis.title = y_title
    chart.width, chart.height = 18, 7.5
    return chart
