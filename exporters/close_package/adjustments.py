"""The package's "Adjustments to locked periods": late or changed facts of a locked period, posted to this one.

A locked period never changes (ledger/period_close.py): what arrives or changes later for it posts to
the first open period after it as an adjusting entry that cites the original entry and date
(`is_adjustment` rows of `fct_journal_line_sources`). The package of that open period lists them,
one row per original entry, source record and account: where it came from (period, date, entry),
the source record (balance transaction or payout), the account and signed amount (debit positive),
and why it was posted. A period without any says so, never an empty table.

Why, from the facts: a payout's return is a payout that failed after it was paid; any other source
record either arrived after the lock (the locked period's frozen drill-down does not have it) or
was booked differently since (it has it: a mapping, a date or a bank match changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import duckdb

from exporters import xlsx
from ledger.money import to_major

if TYPE_CHECKING:
    from exporters.close_package.close_data import CloseData

ADJUSTMENTS_SHEET = "Adjustments"
SHEET_HEADER = ("Original period", "Original date", "Original entry", "Source", "Account", "Account name", "Currency", "Amount (debit +)", "Reason")


@dataclass(frozen=True)
class LockedPeriodAdjustment:
    """Part of an adjusting entry: the locked entry and date it corrects, its source record, account and amount, and why."""

    original_period: str
    original_date: date
    original_entry_id: str
    source_id: str
    account_code: str
    account_name: str
    currency: str
    amount_minor: int
    reason: str


def adjustments_to_locked_periods(connection: duckdb.DuckDBPyConnection, entity_id: str, period: str) -> tuple[LockedPeriodAdjustment, ...]:
    """The entity's adjustments posted to `period`, by original date, entry, source record and account."""
    rows = connection.execute(
        """
        with adjustments as (
            select
                original_journal_entry_id, original_accounting_date, strftime(original_accounting_date, '%Y-%m') as original_period,
                source_kind, source_id, account_code, currency, cast(sum(amount_minor) as bigint) as amount_minor
            from main.fct_journal_line_sources
            where is_adjustment and entity_id = $entity and period = $period
            group by all
            having sum(amount_minor) <> 0
        ),
        frozen_sources as (
            select distinct source_kind, source_id, strftime(original_accounting_date, '%Y-%m') as original_period
            from close.locked_journal_line_sources
            where entity_id = $entity
        )
        select
            adjustments.original_period, adjustments.original_accounting_date, adjustments.original_journal_entry_id,
            adjustments.source_id, adjustments.account_code, coalesce(accounts.account_name, ''), adjustments.currency,
            adjustments.amount_minor,
            case
                when adjustments.source_kind = 'payout_return' then 'payout failed after it was paid: returned by the bank'
                when frozen_sources.source_id is null then
                    replace(coalesce(transactions.balance_transaction_type, adjustments.source_kind), '_', ' ')
                    || ' arrived after ' || adjustments.original_period || ' was locked'
                else
                    replace(coalesce(transactions.balance_transaction_type, adjustments.source_kind), '_', ' ')
                    || ' booked differently since ' || adjustments.original_period || ' was locked'
            end
        from adjustments
        left join frozen_sources
            on adjustments.source_kind = frozen_sources.source_kind and adjustments.source_id = frozen_sources.source_id
            and adjustments.original_period = frozen_sources.original_period
        left join main.stg_stripe__balance_transactions as transactions
            on adjustments.source_kind = 'balance_transaction' and adjustments.source_id = transactions.balance_transaction_id
        left join accounting.gl_accounts as accounts on adjustments.account_code = accounts.account_code
        order by
            adjustments.original_accounting_date, adjustments.original_journal_entry_id, adjustments.source_kind,
            adjustments.source_id, adjustments.account_code
        """,
        {"entity": entity_id, "period": period},
    ).fetchall()
    return tuple(LockedPeriodAdjustment(*row) for row in rows)


def none_adjusted(period: str) -> str:
    """What the section says when nothing was adjusted: stated, never an empty table."""
    return f"None: no late or changed facts of a locked period were posted to {period}."


def add_adjustments_sheet(workbook, data: CloseData) -> None:
    xlsx.add_table(workbook, ADJUSTMENTS_SHEET, SHEET_HEADER, [
        (item.original_period, item.original_date, item.original_entry_id, item.source_id, item.account_code, item.account_name,
         item.currency.upper(), to_major(item.amount_minor, item.currency), item.reason)
        for item in data.adjustments
    ] or [(none_adjusted(data.period), *(None,) * (len(SHEET_HEADER) - 1))])
