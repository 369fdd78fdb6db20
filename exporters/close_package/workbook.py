"""The close package as an XLSX workbook: one sheet per section, amounts as exact numeric cells in
major units (from minor units through `ledger.money`), and native Excel charts (openpyxl.chart)
over the chart sheets' own cells, so an accountant can re-cut them."""

from __future__ import annotations

from pathlib import Path

from openpyxl.chart import BarChart, Reference

from exporters import xlsx
from ledger.money import to_major
from exporters.close_package.adjustments import add_adjustments_sheet
from exporters.close_package.anomalies import add_anomalies_sheet
from exporters.close_package.revenue_detail import add_revenue_detail_sheets
from exporters.close_package.close_data import AGE_BUCKETS, CloseData, period_days
from exporters.close_package.presentation import (
    ROLLFORWARD_LABELS, SIGN_OFF_ROLES, TIE_OUT_LABELS, bank_file_warnings_none, category_label, lock_text, no_chart_data, none_in_suspense,
    proven_text, status_text, tie_outs_text,
)

STATUS = "Status"
SUMMARY = "Summary"
TIE_OUTS = "Tie-outs"
IN_TRANSIT = "In transit"
UNSETTLED = "Ending balance"
TRIAL_BALANCE = "Trial balance"
FUNCTIONAL_TRIAL_BALANCE = "Functional TB"
ROLLFORWARD = "Roll-forward"
RECONCILIATION = "Reconciliation"
PAYOUTS = "Payouts"
EXCEPTIONS = "Exceptions"
DAILY_VOLUME = "Daily volume"
UNMATCHED_BY_AGE = "Unmatched by age"
SUSPENSE = "Suspense"
BANK_FILE_WARNINGS = "Bank file warnings"


def write_workbook(data: CloseData, path: Path) -> Path:
    workbook = xlsx.new_workbook()
    xlsx.add_table(workbook, STATUS, ("Item", "Value", "Time (UTC)", "Detail"), status_rows(data))
    xlsx.add_table(workbook, SUMMARY, ("Item", "Value"), _summary_rows(data))
    xlsx.add_table(workbook, TIE_OUTS, ("Currency", "Control", "Ledger side", "Ledger amount", "Other side", "Other amount", "Difference"), _tie_out_rows(data))
    xlsx.add_table(workbook, IN_TRANSIT, ("Payout", "Currency", "Created", "Arrival date", "Amount"), [
        (payout.payout_id, payout.currency.upper(), payout.created, payout.arrival_date, to_major(payout.amount_minor, payout.currency)) for payout in data.in_transit
    ] or [(f"None: no payout was in transit at the end of {data.period}.", None, None, None, None)])
    xlsx.add_table(workbook, UNSETTLED, ("Currency", "Reporting category", "Count", "Gross", "Fee", "Net"), [
        (line.currency.upper(), category_label(line.reporting_category), line.count,
         *(to_major(amount, line.currency) for amount in (line.gross_minor, line.fee_minor, line.net_minor)))
        for line in data.unsettled
    ])
    xlsx.add_table(workbook, TRIAL_BALANCE, ("Currency", "Account", "Name", "Type", "Opening", "Debits", "Credits", "Closing"), [
        (line.currency.upper(), line.account_code, line.account_name, line.account_type,
         *(to_major(amount, line.currency) for amount in (line.opening_minor, line.debits_minor, line.credits_minor, line.closing_minor)))
        for line in data.trial_balance
    ])
    functional = data.provenance.functional_currency
    xlsx.add_table(workbook, FUNCTIONAL_TRIAL_BALANCE, ("Currency", "Account", "Name", "Type", "Opening", "Debits", "Credits", "Closing", "FX"), [
        (functional.upper(), line.account_code, line.account_name, line.account_type,
         *(to_major(amount, functional) for amount in (line.opening_minor, line.debits_minor, line.credits_minor, line.closing_minor)),
         line.fx_note)
        for line in data.functional_trial_balance
    ])
    xlsx.add_table(workbook, ROLLFORWARD, ("Currency", "Category", "Line", "Amount"), [
        (line.currency.upper(), ROLLFORWARD_LABELS[line.category], line.description, to_major(line.amount_minor, line.currency)) for line in data.rollforward
    ])
    xlsx.add_table(workbook, RECONCILIATION, ("Currency", "Status", "Count", "Amount"), [
        (line.currency.upper(), status_text(line.status, line.difference_minor, line.currency), line.count, to_major(line.amount_minor, line.currency))
        for line in data.reconciliation
    ])
    xlsx.add_table(workbook, PAYOUTS, ("Payout", "Currency", "Status", "Amount"), [
        (payout.payout_id, payout.currency.upper(), status_text(payout.status, payout.difference_minor, payout.currency), to_major(payout.amount_minor, payout.currency))
        for payout in data.payouts
    ])
    xlsx.add_table(workbook, EXCEPTIONS, ("Type", "Currency", "Payout", "Bank line", "Amount", "Since", "Age (business days)"), [
        (status_text(item.exception_type, item.difference_minor, item.currency), item.currency.upper(), item.payout_id, item.bank_statement_line_id,
         to_major(item.amount_minor, item.currency), item.reference_date, item.age_business_days)
        for item in data.exceptions
    ])
    xlsx.add_table(workbook, SUSPENSE, ("Balance transaction", "Accounting date", "Currency", "Amount (debit +)", "Reason", "Age (days)"), [
        (posting.balance_transaction_id, posting.accounting_date, posting.currency.upper(), to_major(posting.amount_minor, posting.currency),
         posting.reason, posting.age_days)
        for posting in data.suspense_postings
    ] or [(none_in_suspense(data.period), None, None, None, None, None)])
    xlsx.add_table(workbook, BANK_FILE_WARNINGS, ("File", "Warning", "Since"), [
        (warning.file_name, warning.description, warning.since) for warning in data.bank_file_warnings
    ] or [(bank_file_warnings_none(data.lists_unassigned), None, None)])
    add_adjustments_sheet(workbook, data)
    add_anomalies_sheet(workbook, data)
    add_revenue_detail_sheets(workbook, data)
    _daily_volume(workbook, data)
    _unmatched_by_age(workbook, data)
    xlsx.save(workbook, path, data.provenance.generated_at)
    return path


def status_rows(data: CloseData) -> list[tuple]:
    """The status block: the proofs, the lock and its history, provenance, and lines to sign."""
    proofs = data.proofs
    rows: list[tuple] = [("Proven", proven_text(proofs), None, proofs.unavailable or ""), ("Tied out", tie_outs_text(data.tie_outs), None, "sheet Tie-outs")]
    rows += [(f"Proof {result.name}", result.status, result.evaluated_at, result.detail or result.description or "(the check carries no description)") for result in proofs.results]
    lock = data.lock
    rows.append(("Lock", lock_text(lock), lock.locked_at, ""))
    rows += [(f"Period {event.action}", f"by {event.actor}", event.happened_at, event.reason or "") for event in lock.events]
    provenance = data.provenance
    rows += [
        ("Entity", f"{provenance.entity_name} ({data.entity_id})", None, ""),
        ("Period", data.period, None, ""),
        ("Functional currency", provenance.functional_currency.upper(), None, ""),
        ("Dagster run", provenance.dagster_run_id or "none: written outside a Dagster run", None, ""),
        ("Ledger fingerprint (sha256)", provenance.ledger_fingerprint, None, f"{provenance.journal_lines} journal lines; as the export manifests compute it"),
        ("Generated at", provenance.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC"), provenance.generated_at, ""),
        ("Software version", f"stripe-close {provenance.software_version}", None, ""),
    ]
    rows += [(role, "", None, "Name, signature and date: ______________________________") for role in SIGN_OFF_ROLES]
    return rows


def _tie_out_rows(data: CloseData) -> list[tuple]:
    """Each tie-out, then the figures that make up its other side, its reconciling items and what they leave unexplained."""
    rows = []
    for tie in data.tie_outs:
        currency, control = tie.currency, TIE_OUT_LABELS[tie.control]
        compared = (tie.not_evaluated, tie.not_evaluated) if tie.not_evaluated else (_major(tie.external_minor, currency), _major(tie.difference_minor, currency))
        rows.append((currency.upper(), control, tie.ledger_label, _major(tie.ledger_minor, currency), tie.external_label, *compared))
        rows += [(currency.upper(), control, "", None, f"of which: {label}", to_major(amount, currency), None) for label, amount in tie.details]
        rows += [(currency.upper(), control, "", None, f"reconciling item: {label}", None, to_major(amount, currency)) for label, amount in tie.reconciling_items]
        if tie.reconciling_items:
            rows.append((currency.upper(), control, "", None, "Unexplained difference", None, _major(tie.unexplained_minor, currency)))
    return rows


def _major(amount_minor: int | None, currency: str):
    return None if amount_minor is None else to_major(amount_minor, currency)


def _summary_rows(data: CloseData) -> list[tuple]:
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
    return [
        ("Entity", data.entity_id), ("Period", data.period), ("Bank reconciliation as of", data.as_of_date),
        ("Lists the unassigned bank lines (default entity)", "yes" if data.lists_unassigned else "no"),
        ("Bank reconciliation", not_performed or "performed for every currency with payouts due at the bank"),
        *headline, ("Open exceptions", exceptions), ("Suspense postings", len(data.suspense_postings)),
        *((f"{currency.upper()} Stripe clearing = Stripe balance", problem) for currency, problem in data.balance_not_evaluated),
    ]


def _daily_volume(workbook, data: CloseData) -> None:
    """Day | one volume column per currency; one bar chart per currency (scales differ too much to share an axis)."""
    currencies = data.currencies
    volume = {(row.day, row.currency): row.volume_minor for row in data.daily_volume}
    days = period_days(data.period)
    if not data.daily_volume:
        xlsx.add_table(workbook, DAILY_VOLUME, ("Day",), [(no_chart_data("charges", data.period),)])
        return
    xlsx.add_table(workbook, DAILY_VOLUME, ("Day", *(currency.upper() for currency in currencies)), [
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
    if not data.unmatched_payouts:
        xlsx.add_table(workbook, UNMATCHED_BY_AGE, ("Age (business days)",), [(no_chart_data("unmatched payouts", data.period),)])
        return
    xlsx.add_table(workbook, UNMATCHED_BY_AGE, ("Age (business days)", *(currency.upper() for currency in counts)), [
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
