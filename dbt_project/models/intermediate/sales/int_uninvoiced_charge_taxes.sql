-- The tax of charges without an invoice: one row per charge and tax it collected (`tax_rate_id`
-- and/or `jurisdiction`, `amount_minor` in the charge's minor units), which their sales split books
-- to tax payable, leaving the rest to revenue. The tax Stripe Tax computed (int_charge_stripe_taxes,
-- by ISO jurisdiction such as `US-CA`: no tax rate); a charge with an invoice takes its tax from the
-- invoice instead, so its Stripe Tax transaction is not counted twice.

with

stripe_taxes as (

    select * from {{ ref('int_charge_stripe_taxes') }}

),

charges as (

    select * from {{ ref('int_charge_sales_documents') }}

),

final as (

    select
        stripe_taxes.charge_id,
        cast(null as string) as tax_rate_id,
        stripe_taxes.jurisdiction,
        stripe_taxes.tax_minor as amount_minor
    from stripe_taxes
    inner join charges
        on stripe_taxes.charge_id = charges.charge_id
    where charges.invoice_id is null

)

select * from final
