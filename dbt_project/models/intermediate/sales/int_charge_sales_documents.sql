{{ config(materialized='table') }}

-- Each charge with what explains its sale: the invoice it pays (an invoice payment of its payment
-- intent), else the category its metadata names under the entity's policy key
-- (seeds/gl_sales_policy.csv `uninvoiced_metadata_key`). One row per charge.
-- A table: three sales models read it (one of them twice, through int_uninvoiced_charge_taxes)
-- and two tests check it; as a view each of them joined the charges to their metadata again.

with

charges as (

    select * from {{ ref('stg_stripe__charges') }}

),

-- A payment intent pays one invoice.
invoices_by_payment_intent as (

    select payment_intent_id, min(invoice_id) as invoice_id
    from {{ ref('stg_stripe__invoice_payments') }}
    where payment_intent_id is not null
    group by payment_intent_id

),

policies as (

    select * from {{ ref('int_sales_policies') }}

),

final as (

    select
        charges.charge_id,
        charges.entity_id,
        invoices_by_payment_intent.invoice_id,
        charge_metadata.value as revenue_category,
        coalesce(charges.amount_captured_minor, charges.amount_minor) as captured_minor
    from charges
    left join invoices_by_payment_intent
        on charges.payment_intent_id = invoices_by_payment_intent.payment_intent_id
    left join policies
        on charges.entity_id = policies.entity_id
    left join {{ ref('stg_stripe__charge_metadata') }} as charge_metadata
        on charges.charge_id = charge_metadata.charge_id
        and charge_metadata.key = policies.uninvoiced_metadata_key

)

select * from final
