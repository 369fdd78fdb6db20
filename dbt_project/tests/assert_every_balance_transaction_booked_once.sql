{{ config(meta={'dagster': {'ref': {'name': 'fct_journal_line_sources'}}}) }}
-- Proof 1: every balance transaction with a non-zero movement is booked in exactly one journal
-- entry, and its booked lines sum to zero with its net on Stripe clearing. Returns the culprits.

with

transactions as (

    select * from {{ ref('stg_stripe__balance_transactions') }}
    where amount_minor <> 0 or fee_minor <> 0 or net_minor <> 0

),

booked as (

    select
        source_id as balance_transaction_id,
        count(distinct journal_entry_id) as journal_entry_count,
        sum(amount_minor) as booked_sum_minor,
        sum(case when line_role = 'stripe_clearing' then amount_minor else 0 end) as clearing_minor
    from {{ ref('fct_journal_line_sources') }}
    where source_kind = 'balance_transaction'
    group by source_id

)

select
    transactions.balance_transaction_id,
    coalesce(booked.journal_entry_count, 0) as journal_entry_count,
    booked.booked_sum_minor,
    transactions.net_minor,
    booked.clearing_minor
from transactions
full outer join booked
    on transactions.balance_transaction_id = booked.balance_transaction_id
where transactions.balance_transaction_id is null
    or booked.balance_transaction_id is null
    or booked.journal_entry_count <> 1
    or booked.booked_sum_minor <> 0
    or booked.clearing_minor <> transactions.net_minor
