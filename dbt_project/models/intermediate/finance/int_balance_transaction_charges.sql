{{ config(materialized='table') }}

-- The charge behind each balance transaction whose source is a charge, or a refund or dispute of
-- one: what Stripe's itemized reports print beside the amounts (charge, payment intent, invoice,
-- subscription, customer, card). Stripe ids are unique across object types, so one join on
-- `source_id` finds the object whatever its type.
-- A table: rpt_payout_reconciliation reads it and three tests check it; as a view each test joined
-- the transactions to their charges again (23 s for `unique` alone at a million transactions).

with

transactions as (

    select balance_transaction_id, source_id, amount_minor
    from {{ ref('stg_stripe__balance_transactions') }}
    where source_id is not null

),

charges as (

    select * from {{ ref('stg_stripe__charges') }}

),

-- The object each transaction moved, with its charge and the amount the customer saw.
charge_sources as (

    select charge_id as source_id, charge_id, amount_minor, currency, cast(null as string) as dispute_reason
    from charges

    union all

    select refund_id, charge_id, amount_minor, currency, null
    from {{ ref('stg_stripe__refunds') }}

    union all

    select dispute_id, charge_id, amount_minor, currency, reason
    from {{ ref('stg_stripe__disputes') }}

),

-- A charge finds its invoice through its payment intent; one invoice per payment intent (the
-- first paid), so that no transaction is listed twice.
invoice_of_payment_intent as (

    select payment_intent_id, invoice_id
    from {{ ref('stg_stripe__invoice_payments') }}
    where payment_intent_id is not null and status = 'paid'
    qualify row_number() over (partition by payment_intent_id order by paid_at nulls last, invoice_payment_id) = 1

),

invoices as (

    select invoice_id, number as invoice_number, subscription_id
    from {{ ref('stg_stripe__invoices') }}

),

final as (

    select
        transactions.balance_transaction_id,
        charges.charge_id,
        charges.payment_intent_id,
        charges.created_at as charge_created_at,
        invoices.invoice_id,
        invoices.invoice_number,
        invoices.subscription_id,
        charges.customer_id,
        -- The refund's or dispute's own amount, in its own currency, signed as the transaction
        -- moves the balance (a refund negative, a dispute reversal positive).
        case when transactions.amount_minor < 0 then -abs(charge_sources.amount_minor) else abs(charge_sources.amount_minor) end
            as customer_facing_amount_minor,
        charge_sources.currency as customer_facing_currency,
        charges.payment_method_type,
        charges.card_brand,
        charges.card_country,
        charges.card_funding,
        charges.calculated_statement_descriptor as statement_descriptor,
        charge_sources.dispute_reason
    from transactions
    inner join charge_sources
        on transactions.source_id = charge_sources.source_id
    inner join charges
        on charge_sources.charge_id = charges.charge_id
    left join invoice_of_payment_intent
        on charges.payment_intent_id = invoice_of_payment_intent.payment_intent_id
    left join invoices
        on invoice_of_payment_intent.invoice_id = invoices.invoice_id

)

select * from final
