{{ config(meta={'dagster': {'ref': {'name': 'fct_journal_line_sources'}}}) }}
-- Proof 1: every balance transaction with a movement is booked under exactly one original journal
-- entry (adjusting entries cite it), with its gross on one gross line and exactly its net on Stripe
-- clearing; and per currency, everything booked from balance transactions sums to zero.
-- Returns each culprit transaction (or currency) with what is wrong.
-- Per transaction it reads only the gross and clearing rows: a third of the drill-down, which
-- matters at ten million transactions; a stray fee row still breaks the per-currency sum.

with

transactions as (

    select * from {{ ref('stg_stripe__balance_transactions') }}
    where amount_minor <> 0 or fee_minor <> 0 or net_minor <> 0

),

booked as (

    select
        source_id as balance_transaction_id,
        min(original_journal_entry_id) <> max(original_journal_entry_id) as is_in_several_entries,
        sum(case when line_role = 'gross' and not is_adjustment then 1 else 0 end) as gross_rows,
        sum(case when line_role = 'stripe_clearing' and not is_adjustment then 1 else 0 end) as clearing_rows,
        sum(case when line_role = 'gross' then -amount_minor else 0 end) as gross_minor,
        sum(case when line_role = 'stripe_clearing' then amount_minor else 0 end) as clearing_minor
    from {{ ref('fct_journal_line_sources') }}
    where source_kind = 'balance_transaction'
        and line_role in ('gross', 'stripe_clearing')
    group by source_id

),

per_transaction as (

    select
        coalesce(transactions.balance_transaction_id, booked.balance_transaction_id) as culprit,
        case
            when booked.balance_transaction_id is null then 'not booked'
            when transactions.balance_transaction_id is null then 'booked but not a Stripe balance transaction'
            when booked.is_in_several_entries then 'booked in several journal entries'
            when booked.gross_rows > 1 or booked.clearing_rows > 1 then 'booked twice'
            when booked.clearing_minor <> transactions.net_minor then 'Stripe clearing differs from net'
            else 'booked gross differs from amount'
        end as problem,
        transactions.amount_minor,
        booked.gross_minor,
        transactions.net_minor,
        booked.clearing_minor
    from transactions
    full outer join booked
        on transactions.balance_transaction_id = booked.balance_transaction_id
    where transactions.balance_transaction_id is null
        or booked.balance_transaction_id is null
        or booked.is_in_several_entries
        or booked.gross_rows > 1
        or booked.clearing_rows > 1
        or booked.clearing_minor <> transactions.net_minor
        or booked.gross_minor <> transactions.amount_minor

),

per_currency as (

    select
        currency as culprit,
        'balance transactions booked in ' || upper(currency) || ' do not sum to zero' as problem,
        null::bigint as amount_minor,
        null::bigint as gross_minor,
        null::bigint as net_minor,
        cast(sum(amount_minor) as bigint) as clearing_minor
    from {{ ref('fct_journal_line_sources') }}
    where source_kind = 'balance_transaction'
    group by currency
    having sum(amount_minor) <> 0

)

select * from per_transaction
union all
select * from per_currency
