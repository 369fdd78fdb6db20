{{ config(materialized='table') }}

-- The payouts bank matching looks at (in transit, paid or failed), once, with what every rule
-- needs: an integer `payout_key` (matching joins and groups on it, much cheaper than the string
-- id; it holds within one build only), the trace id Stripe reported, and the business-day numbers
-- of the arrival date and of the failure. The payout's Stripe account and entity travel with it, so
-- every banking mart says whose payout a row is.

with

payouts as (

    select * from {{ ref('stg_stripe__payouts') }}
    where payout_status in ('in_transit', 'paid', 'failed')

),

failures as (

    select balance_transaction_id, created_at from {{ ref('stg_stripe__balance_transactions') }}

),

final as (

    select
        -- Numbered in id order: Spark numbers rows only in an order, and combined deposits order
        -- same-day payouts by key, so both engines must number alike.
        row_number() over (order by payouts.payout_id) as payout_key,
        payouts.payout_id,
        payouts.stripe_account_id,
        payouts.entity_id,
        payouts.currency,
        payouts.amount_minor,
        payouts.payout_status,
        payouts.arrival_date,
        cast(payouts.created_at as date) as created_date,
        case when payouts.trace_id_status = 'supported' then payouts.trace_id_value end as trace_id,
        {{ business_day_number("payouts.arrival_date", "payouts.currency") }} as arrival_business_day,
        {{ business_day_number("cast(failures.created_at as date)", "payouts.currency") }} as failure_business_day
    from payouts
    left join failures
        on payouts.failure_balance_transaction_id = failures.balance_transaction_id

)

select * from final
