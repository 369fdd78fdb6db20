{{ config(meta={'dagster': {'ref': {'name': 'fct_journal_line_sources'}}}) }}
-- Proof 1: every balance transaction with a movement is booked under exactly one original journal
-- entry (adjusting entries cite it), its booked rows sum to zero, and they put exactly its net on
-- Stripe clearing. Returns each culprit with what is wrong with it.

with

transactions as (

    select * from {{ ref('stg_stripe__balance_transactions') }}
    where amount_minor <> 0 or fee_minor <> 0 or net_minor <> 0

),

booked as (

    select
        source_id as balance_transaction_id,
        count(distinct original_journal_entry_id) as journal_entry_count,
        sum(amount_minor) as booked_sum_minor,
        sum(case when line_role = 'stripe_clearing' then amount_minor else 0 end) as clearing_minor,
        sum(case when line_role = 'gross' then -amount_minor else 0 end) as gross_minor
    from {{ ref('fct_journal_line_sources') }}
    where source_kind = 'balance_transaction'
    group by source_id

)

select
    coalesce(transactions.balance_transaction_id, booked.balance_transaction_id) as balance_transaction_id,
    case
        when booked.balance_transaction_id is null then 'not booked'
        when transactions.balance_transaction_id is null then 'booked but not a Stripe balance transaction'
        when booked.journal_entry_count <> 1 then 'booked in ' || booked.journal_entry_count || ' journal entries'
        when booked.booked_sum_minor <> 0 then 'booked lines do not balance'
        when booked.clearing_minor <> transactions.net_minor then 'Stripe clearing differs from net'
        else 'booked gross differs from amount'
    end as problem,
    coalesce(booked.journal_entry_count, 0) as journal_entry_count,
    booked.booked_sum_minor,
    transactions.amount_minor,
    booked.gross_minor,
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
    or booked.gross_minor <> transactions.amount_minor
