"""Whether a bank reconciliation was performed at all: payouts due at the bank, and statements to match them to.

With no statement lines of a currency for the period, every payout of that currency is "not
matched" and no bank line is "unmatched": counts of zero that read as a clean reconciliation when
nothing was compared. Whatever shows reconciliation figures (the close package, the Dagster
metadata and checks, the CLI summary) asks here first and says "NOT performed" instead.

Scope, as the close package's reconciliation: the payouts bank matching looks at
(`int_bank_payouts`: in transit, paid or failed) whose `arrival_date` falls in the period, of one
entity or all; a currency counts as covered when the period has at least one booked statement
line in it (`int_bank_statement_lines_deduplicated`, by `booking_date`). Statement lines carry no
Stripe account, so coverage is per currency, not per entity.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class BankCoverage:
    """The currencies with payouts due at the bank in the scope, and those of them without statements."""

    payout_currencies: tuple[str, ...]
    unreconciled: tuple[str, ...]

    @property
    def performed(self) -> bool:
        return not self.unreconciled

    def covers(self, currency: str) -> bool:
        return currency not in self.unreconciled

    def describe(self) -> str | None:
        """'bank reconciliation NOT performed: no statements for EUR, USD', or None when every currency had statements."""
        if self.performed:
            return None
        return f"bank reconciliation NOT performed: no statements for {', '.join(currency.upper() for currency in self.unreconciled)}"


def bank_coverage(connection: duckdb.DuckDBPyConnection, periods: list[str] | None, entity_id: str | None = None) -> BankCoverage:
    """Coverage of the payouts arriving in `periods` (None: all periods) of `entity_id` (None: every entity).

    A currency is unreconciled when some period of the list has its payouts and no statement line of it."""
    rows = connection.execute(
        """
        with payouts as (
            select distinct currency, strftime(arrival_date, '%Y-%m') as period
            from main.int_bank_payouts
            where ($periods is null or list_contains($periods, strftime(arrival_date, '%Y-%m')))
                and ($entity is null or entity_id = $entity)
        ),
        statements as (
            select distinct currency, strftime(booking_date, '%Y-%m') as period from main.int_bank_statement_lines_deduplicated
        )
        select payouts.currency, bool_and(statements.currency is not null)
        from payouts
        left join statements on payouts.currency = statements.currency and ($periods is null or payouts.period = statements.period)
        group by payouts.currency
        order by payouts.currency
        """,
        {"periods": periods, "entity": entity_id},
    ).fetchall()
    return BankCoverage(tuple(currency for currency, _ in rows), tuple(currency for currency, covered in rows if not covered))
