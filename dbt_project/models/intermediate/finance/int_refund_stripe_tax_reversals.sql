-- The Stripe Tax reversal of each refund that names one in its metadata (`tax_transaction`, as the
-- merchant's refund flow records the transaction `create_reversal` returned, the way a charge names
-- its own: Stripe links them no other way), one row per refund: the tax it gives back, per the
-- reversal's own amounts. Only a reversal (`type` reversal) of the transaction the refund's charge
-- names counts; any other id leaves the refund to be reversed pro rata.

with

named as (

    select refund_id, charge_id, tax_transaction_id
    from {{ ref('stg_stripe__refunds') }}
    where tax_transaction_id is not null

),

reversals as (

    select * from {{ ref('stg_stripe__tax_transactions') }}
    where tax_transaction_type = 'reversal'

),

-- A reversal's lines carry negative amounts: negated, what the refund gives back.
lines as (

    select
        tax_transaction_id,
        -sum(case when tax_behavior = 'inclusive' then amount_minor - tax_minor else amount_minor end) as reversed_taxable_minor,
        -sum(tax_minor) as reversed_tax_minor
    from {{ ref('stg_stripe__tax_transaction_line_items') }}
    group by tax_transaction_id

),

charge_taxes as (

    select charge_id, tax_transaction_id from {{ ref('int_charge_stripe_taxes') }}

),

final as (

    select
        named.refund_id,
        named.charge_id,
        reversals.tax_transaction_id,
        reversals.reversed_transaction_id,
        reversals.entity_id,
        reversals.currency,
        reversals.jurisdiction,
        lines.reversed_taxable_minor - coalesce(reversals.shipping_minor, 0) as reversed_taxable_minor,
        lines.reversed_tax_minor - coalesce(reversals.shipping_tax_minor, 0) as reversed_tax_minor,
        reversals.created_at
    from named
    inner join reversals
        on named.tax_transaction_id = reversals.tax_transaction_id
    inner join charge_taxes
        on named.charge_id = charge_taxes.charge_id
        and reversals.reversed_transaction_id = charge_taxes.tax_transaction_id
    inner join lines
        on reversals.tax_transaction_id = lines.tax_transaction_id

)

select * from final
