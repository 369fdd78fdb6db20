-- A view: a one-to-one projection of staging plus each payout, as large as the transactions it
-- lists; computed when read rather than copied on every build.
{{ config(materialized='view') }}

-- Stripe's `payout_reconciliation.itemized.5`: the balance transactions settled in each automatic
-- payout, one row each, dated by the payout's effective date (its arrival date). Amounts in major
-- units as Stripe's CSV prints them (`gross`, `fee`, `net`) and in minor units (`*_minor`).
-- The payout's own balance transaction is not an item of the payout, as in Stripe's report.
-- Beside the amounts, the charge's columns of the report (int_balance_transaction_charges: a
-- refund or dispute carries its charge's) and the configured metadata keys as
-- `payment_metadata[key]`; no customer name, e-mail or address (they are not stored).
{%- set metadata_keys = payout_reconciliation_metadata_keys() %}

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

charges as (

    select * from {{ ref('int_balance_transaction_charges') }}

),
{%- if metadata_keys %}

-- One row per charge, a column per configured key.
charge_metadata as (

    select
        charge_id,
        {%- for key in metadata_keys %}
        max(value) filter (where key = '{{ key }}') as {{ adapter.quote('payment_metadata[' ~ key ~ ']') }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('stg_stripe__charge_metadata') }}
    where key in ({% for key in metadata_keys %}'{{ key }}'{{ ", " if not loop.last }}{% endfor %})
    group by charge_id

),
{%- endif %}

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
        {{ local_timestamp('transactions.created_at', var("reporting_timezone")) }} as created,
        transactions.available_at as available_on_utc,
        {{ local_timestamp('transactions.available_at', var("reporting_timezone")) }} as available_on,
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
        charges.customer_facing_amount_minor,
        {{ format_major('charges.customer_facing_amount_minor', 'coalesce(customer_facing_exponents.exponent, 2)') }} as customer_facing_amount,
        charges.customer_facing_currency,
        charges.charge_id,
        charges.payment_intent_id,
        charges.charge_created_at as charge_created_utc,
        {{ local_timestamp('charges.charge_created_at', var("reporting_timezone")) }} as charge_created,
        charges.invoice_id,
        charges.invoice_number,
        charges.subscription_id,
        charges.customer_id,
        charges.payment_method_type,
        charges.card_brand,
        charges.card_country,
        charges.card_funding,
        charges.statement_descriptor,
        charges.dispute_reason,
        {%- for key in metadata_keys %}
        charge_metadata.{{ adapter.quote('payment_metadata[' ~ key ~ ']') }},
        {%- endfor %}
        payouts.payout_id as automatic_payout_id,
        cast(payouts.arrival_date as timestamp) as automatic_payout_effective_at_utc,
        cast(payouts.arrival_date as timestamp) as automatic_payout_effective_at,
        payouts.arrival_date as payout_expected_arrival_date,
        payouts.payout_status,
        payouts.trace_id_value as trace_id,
        payouts.trace_id_status,
        {{ format_date('payouts.arrival_date', '%Y-%m') }} as period
    from payout_transactions
    inner join payouts
        on payout_transactions.payout_id = payouts.payout_id
    inner join transactions
        on payout_transactions.balance_transaction_id = transactions.balance_transaction_id
    left join exponents
        on transactions.currency = exponents.currency
    left join charges
        on transactions.balance_transaction_id = charges.balance_transaction_id
    left join exponents as customer_facing_exponents
        on charges.customer_facing_currency = customer_facing_exponents.currency
    {%- if metadata_keys %}
    left join charge_metadata
        on charges.charge_id = charge_metadata.charge_id
    {%- endif %}
    anti join payout_own_transactions
        on transactions.balance_transaction_id = payout_own_transactions.balance_transaction_id

)

select * from final
