-- A view: a one-to-one projection of staging plus each payout, as large as the transactions it
-- lists; computed when read rather than copied on every build.
{{ config(materialized='view') }}

-- Stripe's `payout_reconciliation.itemized.5`: the balance transactions settled in each automatic
-- payout, one row each, dated by the payout's effective date (its arrival date). Amounts in major
-- units as Stripe's CSV prints them (`gross`, `fee`, `net`) and in minor units (`*_minor`).
-- The payout's own balance transaction is not an item of the payout, as in Stripe's report.

with

payout_transactions as (

    select * from {{ ref('stg_stripe__payout_transactions') }}

),

payouts as (

    select * from {{ ref('stg_stripe__payouts') }}
    where is_automatic

),

transactions as (

    select * from {{ ref('stg_stripe__balance_transactions') }}

),

exponents as (

    select * from {{ ref('currency_exponents') }}

),

-- Payouts' own transactions; an anti-join on equality, where `<>` across the join would be a
-- nested loop over every item.
payout_own_transactions as (

    select balance_transaction_id from {{ ref('stg_stripe__payouts') }}
    where balance_transaction_id is not null

),

final as (

    select
        transactions.balance_transaction_id,
        transactions.created_at as created_utc,
        cast(timezone('{{ var("reporting_timezone") }}', timezone('UTC', transactions.created_at)) as timestamp) as created,
        transactions.available_at as available_on_utc,
        cast(timezone('{{ var("reporting_timezone") }}', timezone('UTC', transactions.available_at)) as timestamp) as available_on,
        transactions.currency,
        {{ format_major('transactions.amount_minor', 'coalesce(exponents.exponent, 2)') }} as gross,
        {{ format_major('transactions.fee_minor', 'coalesce(exponents.exponent, 2)') }} as fee,
        {{ format_major('transactions.net_minor', 'coalesce(exponents.exponent, 2)') }} as net,
        transactions.amount_minor as gross_minor,
        transactions.fee_minor,
        transactions.net_minor,
        transactions.reporting_category,
        transactions.source_id,
        transactions.description,
        payouts.payout_id as automatic_payout_id,
        cast(payouts.arrival_date as timestamp) as automatic_payout_effective_at_utc,
        cast(payouts.arrival_date as timestamp) as automatic_payout_effective_at,
        payouts.arrival_date as payout_expected_arrival_date,
        payouts.payout_status,
        payouts.trace_id_value as trace_id,
        payouts.trace_id_status,
        strftime(payouts.arrival_date, '%Y-%m') as period
    from payout_transactions
    inner join payouts
        on payout_transactions.payout_id = payouts.payout_id
    inner join transactions
        on payout_transactions.balance_transaction_id = transactions.balance_transaction_id
    left join exponents
        on transactions.currency = exponents.currency
    anti join payout_own_transactions
        on transactions.balance_transaction_id = payout_own_transactions.balance_transaction_id

)

select * from final
