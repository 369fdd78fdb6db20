"""The proofs that the books are right (DESIGN.md section 5) as Great Expectations 1.x suites.

Each suite is a SQL frame over the built ledger, one row per record the proof is about (a
currency, a payout, a journal entry), and the expectations every row must meet. GX validates pandas
frames (its DuckDB SQL path is broken in 1.x), so the frames are aggregates, small even for ten
million transactions. A failing expectation names its rows by the suite's id columns.

A suite whose proof needs something the warehouse may not hold (Stripe's balance snapshot) also
names, in `not_evaluated_sql`, the records it could not evaluate and why: those are reported as not
evaluated, never validated as passing or compared with zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from great_expectations import expectations as gxe

from ledger.checks.snapshot_coverage import NOT_COVERED_BY_A_SNAPSHOT


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    sql: str
    id_columns: tuple[str, ...]
    expectations: Callable[[], list[gxe.Expectation]]
    # Rows (entity_id, currency, problem) the proof cannot evaluate; None: it can evaluate everything.
    not_evaluated_sql: str | None = None


def _equal(a: str, b: str) -> gxe.Expectation:
    return gxe.ExpectColumnPairValuesToBeEqual(column_A=a, column_B=b)


def _zero(column: str) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=[0])


LATEST_SNAPSHOTS = """
    select * from main.stg_stripe__balance_snapshots
    qualify row_number() over (partition by stripe_account_id, currency order by as_of_at desc) = 1
"""

SUITES: tuple[Suite, ...] = (
    Suite(
        name="balance_transactions_booked_once",
        description="Per currency, every balance transaction is booked, none twice, with its net on Stripe clearing.",
        sql="""
            with transactions as (
                select currency, count(*) as transactions, sum(net_minor) as net_minor
                from main.stg_stripe__balance_transactions
                where amount_minor <> 0 or fee_minor <> 0 or net_minor <> 0
                group by currency
            ),
            -- The stored drill-down (one row per posted record with its lines) and the frozen lines of locked periods.
            booked_records as (
                select currency, source_id, original_journal_entry_id,
                    list_sum(list_transform(list_filter(lines, lambda line: line.line_role = 'stripe_clearing'), lambda line: line.amount_minor)) as clearing_minor,
                    list_sum(list_transform(lines, lambda line: line.amount_minor)) as booked_minor
                from main.fct_journal_source_records
                where source_kind = 'balance_transaction'
                union all
                select currency, source_id, original_journal_entry_id,
                    case when line_role = 'stripe_clearing' then amount_minor else 0 end, amount_minor
                from close.locked_journal_line_sources
                where source_kind = 'balance_transaction'
            ),
            -- One group per transaction: its parts are in several entries when the smallest and
            -- largest entry ids differ (a count of distinct pairs would group ten million twice).
            booked_transactions as (
                select currency, source_id,
                    min(original_journal_entry_id) <> max(original_journal_entry_id) as is_in_several_entries,
                    sum(clearing_minor) as clearing_minor, sum(booked_minor) as booked_minor
                from booked_records
                group by currency, source_id
            ),
            booked as (
                select currency,
                    count(*) as booked_transactions,
                    count(*) filter (where is_in_several_entries) as in_several_entries,
                    sum(clearing_minor) as clearing_minor,
                    sum(booked_minor) as booked_total_minor
                from booked_transactions
                group by currency
            )
            select coalesce(transactions.currency, booked.currency) as currency,
                coalesce(transactions.transactions, 0) as transactions,
                coalesce(booked.booked_transactions, 0) as booked_transactions,
                coalesce(booked.in_several_entries, 0) as in_several_entries,
                cast(coalesce(transactions.net_minor, 0) as bigint) as net_minor,
                cast(coalesce(booked.clearing_minor, 0) as bigint) as clearing_minor,
                cast(coalesce(booked.booked_total_minor, 0) as bigint) as booked_total_minor
            from transactions full outer join booked on transactions.currency = booked.currency
        """,
        id_columns=("currency",),
        expectations=lambda: [
            _equal("transactions", "booked_transactions"), _zero("in_several_entries"),
            _equal("net_minor", "clearing_minor"), _zero("booked_total_minor"),
        ],
    ),
    Suite(
        name="journal_entries_balance",
        description="Every journal entry sums to zero in its currency.",
        sql="""
            select journal_entry_id, currency, cast(sum(amount_minor) as bigint) as imbalance_minor
            from main.fct_journal_lines group by all
        """,
        id_columns=("journal_entry_id", "currency"),
        expectations=lambda: [_zero("imbalance_minor")],
    ),
    Suite(
        name="trial_balance_sums_to_zero",
        description="The trial balance sums to zero per entity and currency.",
        sql="""
            select entity_id, currency, cast(sum(balance_minor) as bigint) as imbalance_minor
            from main.rpt_trial_balance group by all
        """,
        id_columns=("entity_id", "currency"),
        expectations=lambda: [_zero("imbalance_minor")],
    ),
    Suite(
        name="stripe_balance_rolls_forward",
        description=(
            "Per Stripe account, currency and month (Stripe reports each account's balance on its own): "
            "starting + activity - payouts = ending, and each month starts at the last ending."
        ),
        sql="""
            with months as (
                select stripe_account_id, currency, period,
                    sum(case when category = 'starting_balance' then net_amount_minor end) as starting_minor,
                    sum(case when category = 'activity' then net_amount_minor end) as activity_minor,
                    sum(case when category = 'payouts' then net_amount_minor end) as payouts_minor,
                    sum(case when category = 'ending_balance' then net_amount_minor end) as ending_minor
                from main.rpt_stripe_balance_rollforward group by all
            )
            select stripe_account_id, currency, period,
                cast(starting_minor as bigint) as starting_minor,
                cast(coalesce(lag(ending_minor) over (partition by stripe_account_id, currency order by period), 0) as bigint) as previous_ending_minor,
                cast(starting_minor + activity_minor + payouts_minor as bigint) as computed_ending_minor,
                cast(ending_minor as bigint) as ending_minor
            from months
        """,
        id_columns=("stripe_account_id", "currency", "period"),
        expectations=lambda: [_equal("computed_ending_minor", "ending_minor"), _equal("starting_minor", "previous_ending_minor")],
    ),
    Suite(
        name="stripe_balance_equals_snapshot",
        description="Per Stripe account and currency, the transactions up to Stripe's balance snapshot add up to the snapshot.",
        sql=f"""
            with snapshots as ({LATEST_SNAPSHOTS})
            select snapshots.stripe_account_id, snapshots.currency, cast(snapshots.balance_minor as bigint) as snapshot_minor,
                cast(coalesce(sum(transactions.net_minor), 0) as bigint) as transactions_minor
            from snapshots
            left join main.stg_stripe__balance_transactions as transactions
                on transactions.currency = snapshots.currency and transactions.created_at <= snapshots.as_of_at
                and transactions.stripe_account_id is not distinct from snapshots.stripe_account_id
            group by all
        """,
        id_columns=("stripe_account_id", "currency"),
        expectations=lambda: [_equal("snapshot_minor", "transactions_minor")],
        not_evaluated_sql=NOT_COVERED_BY_A_SNAPSHOT,
    ),
    Suite(
        name="automatic_payouts_tie_out",
        description="Each reconciled automatic payout equals the net of the transactions it settled.",
        sql="""
            with payouts as (
                select * from main.stg_stripe__payouts where is_automatic and reconciliation_status = 'completed'
            )
            select payouts.payout_id, payouts.currency, payouts.amount_minor as payout_minor,
                cast(coalesce(sum(case when links.balance_transaction_id <> payouts.balance_transaction_id then transactions.net_minor end), 0) as bigint) as items_net_minor,
                cast(-coalesce(sum(case when links.balance_transaction_id = payouts.balance_transaction_id then transactions.net_minor end), 0) as bigint) as own_amount_minor
            from payouts
            left join main.stg_stripe__payout_transactions as links on links.payout_id = payouts.payout_id
            left join main.stg_stripe__balance_transactions as transactions
                on links.balance_transaction_id = transactions.balance_transaction_id
            group by all
        """,
        id_columns=("payout_id",),
        expectations=lambda: [_equal("payout_minor", "items_net_minor"), _equal("payout_minor", "own_amount_minor")],
    ),
    Suite(
        name="stripe_clearing_equals_stripe_balance",
        description=(
            "Per entity and currency, the Stripe-clearing GL balance equals Stripe's balance snapshot "
            "(entities without a snapshot: not evaluated)."
        ),
        sql=f"""
            with snapshots as ({LATEST_SNAPSHOTS}),
            clearing as (
                select entity_id, currency, sum(amount_minor) as balance_minor from main.fct_journal_lines
                where account_code = (select account_code from accounting.gl_control_accounts where account_role = 'stripe_clearing')
                group by entity_id, currency
            ),
            after_snapshot as (
                select snapshots.entity_id, transactions.currency, sum(transactions.net_minor) as net_minor
                from main.stg_stripe__balance_transactions as transactions
                inner join snapshots on transactions.currency = snapshots.currency and transactions.created_at > snapshots.as_of_at
                    and transactions.entity_id = snapshots.entity_id
                group by snapshots.entity_id, transactions.currency
            )
            select coalesce(snapshots.entity_id, clearing.entity_id) as entity_id, coalesce(snapshots.currency, clearing.currency) as currency,
                cast(coalesce(snapshots.balance_minor, 0) as bigint) as snapshot_minor,
                cast(coalesce(clearing.balance_minor, 0) - coalesce(after_snapshot.net_minor, 0) as bigint) as clearing_minor
            from snapshots
            full outer join clearing on snapshots.currency = clearing.currency and snapshots.entity_id = clearing.entity_id
            left join after_snapshot on coalesce(snapshots.currency, clearing.currency) = after_snapshot.currency
                and coalesce(snapshots.entity_id, clearing.entity_id) = after_snapshot.entity_id
            -- A snapshot reads an account's whole balance (a currency missing from it held nothing);
            -- an entity without one is not evaluated (not_evaluated_sql), not compared with zero.
            where coalesce(snapshots.entity_id, clearing.entity_id) in (select entity_id from snapshots)
        """,
        id_columns=("entity_id", "currency"),
        expectations=lambda: [_equal("snapshot_minor", "clearing_minor")],
        not_evaluated_sql=NOT_COVERED_BY_A_SNAPSHOT,
    ),
)


def suite_named(name: str) -> Suite:
    for suite in SUITES:
        if suite.name == name:
            return suite
    raise KeyError(f"no suite {name!r}; suites: {', '.join(s.name for s in SUITES)}")
