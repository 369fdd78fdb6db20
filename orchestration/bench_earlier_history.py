"""A long history for `stripe-close bench continuous` without simulating it: the landed span of a
simulated world, copied earlier in time.

Simulating a year of 30,000 transactions a day would take longer and more memory than the hour it
prepares (and the sandbox API would hold the whole year). The hourly run reads the last days only,
so the days before them need to be real rows of the right size and shape, not a simulation of their
own: copy `k` is the simulated span's balance transactions, fee details, payouts and payout links
moved `k` spans earlier, each id suffixed `_copy<k>` (the Stripe prefix kept, so every model reads them
as the kind they are). A copy is older than any payout's arrival, so its payouts are `paid` and its
transactions `available`.

Stripe's balance is the simulated world's (the sandbox API serves only that world), so each copy
ends with one risk-reserve transaction per currency (`reserve_transaction`, reporting category
`risk_reserved_funds`, which the mapping books to the reserve account) that takes what the copy
left in the balance: every copy adds nothing to the balance, and the proofs that compare the ledger
with Stripe's balance hold as they do on the simulated world alone.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from ledger import warehouse

BALANCE_TRANSACTIONS = warehouse.landed_table("stripe_balance_transactions")
FEE_DETAILS = warehouse.landed_table("stripe_fee_details")
PAYOUTS = warehouse.landed_table("stripe_payouts")
PAYOUT_LINKS = warehouse.landed_table("stripe_payout_transactions")
# Stripe's ids are a prefix, `_` and letters and digits: this mark is in no simulated id.
COPY_MARK = "_copy"
RESERVE_PREFIX = "txn_reserve_"


def land_earlier_copies(connection: duckdb.DuckDBPyConnection, copies: int, span_start: datetime, span_days: int) -> int:
    """Land `copies` copies of the raw balance rows (simulated from `span_start` for `span_days`)
    before them, in the caller's transaction; returns the balance transactions added."""
    return sum(_land_copy(connection, copy, span_start, span_days) for copy in range(1, copies + 1))


def _land_copy(connection: duckdb.DuckDBPyConnection, copy: int, span_start: datetime, span_days: int) -> int:
    suffix = f"{COPY_MARK}{copy}"
    shift = f"interval {copy * span_days} day"
    # Only the simulated span's rows are copied (never an earlier copy's: their ids carry a suffix).
    original = f"not contains(id, '{COPY_MARK}')"
    [(count,)] = connection.execute(f"""
        insert into {BALANCE_TRANSACTIONS} by name
        select * replace (
            id || '{suffix}' as id,
            source_id || '{suffix}' as source_id,
            created - {shift} as created,
            available_on - {shift} as available_on,
            'available' as status
        )
        from {BALANCE_TRANSACTIONS} where {original}
    """).fetchall()
    connection.execute(f"""
        insert into {FEE_DETAILS} by name
        select * replace (balance_transaction_id || '{suffix}' as balance_transaction_id)
        from {FEE_DETAILS} where not contains(balance_transaction_id, '{COPY_MARK}')
    """)
    connection.execute(f"""
        insert into {PAYOUTS} by name
        select * replace (
            id || '{suffix}' as id,
            balance_transaction_id || '{suffix}' as balance_transaction_id,
            failure_balance_transaction_id || '{suffix}' as failure_balance_transaction_id,
            trace_id_value || '{suffix}' as trace_id_value,
            created - {shift} as created,
            arrival_date - {shift} as arrival_date,
            case when status in ('pending', 'in_transit') then 'paid' else status end as status
        )
        from {PAYOUTS} where {original}
    """)
    connection.execute(f"""
        insert into {PAYOUT_LINKS} by name
        select * replace (payout_id || '{suffix}' as payout_id, balance_transaction_id || '{suffix}' as balance_transaction_id)
        from {PAYOUT_LINKS} where not contains(payout_id, '{COPY_MARK}')
    """)
    # The copy's last second: where its balance goes back to what it was before it.
    connection.execute(f"""
        insert into {BALANCE_TRANSACTIONS} by name
        select
            '{RESERVE_PREFIX}' || currency || '{suffix}' as id,
            -sum(net) as amount, 0 as fee, -sum(net) as net, currency,
            'reserve_transaction' as type, 'risk_reserved_funds' as reporting_category,
            ?::timestamp - {shift} - interval 1 second + interval {span_days} day as created,
            ?::timestamp - {shift} - interval 1 second + interval {span_days} day as available_on,
            'available' as status, 'Benchmark history: the copy''s balance to the reserve' as description,
            any_value(balance_type) as balance_type, any_value(stripe_account_id) as stripe_account_id,
            any_value(_source) as _source, max(_loaded_at) as _loaded_at
        from {BALANCE_TRANSACTIONS} where ends_with(id, '{suffix}') and not starts_with(id, '{RESERVE_PREFIX}')
        group by currency
        having sum(net) <> 0
    """, [span_start, span_start])
    return count + connection.execute(f"select count(*) from {BALANCE_TRANSACTIONS} where starts_with(id, '{RESERVE_PREFIX}') and ends_with(id, '{suffix}')").fetchall()[0][0]
