-- Revenue by product per entity, period and currency, as the journal books it from each sale's
-- parts (int_balance_transaction_sales_split): charges without an invoice appear by their metadata
-- category (`revenue_category`) instead of a product. Amounts are positive for revenue (the
-- journal's credits negated), in minor units of `currency`:
--   sales_minor      what charges sold (line amounts; net of discounts under the `net` treatment)
--   discounts_minor  their discounts (contra-revenue treatment)
--   credited_minor   what refunds with a credit note took back (its lines less their discounts)
--   refunded_minor   what refunds without a credit note took back, pro rata of the invoice
--                    (or whole, for a charge without an invoice)
--   net_revenue_minor = sales - discounts - credited - refunded
-- Periods are the transactions' accounting months. Read from the current facts: a locked period
-- changed since shows here as the facts are now, as its adjusting entries book the difference.

with

split as (

    select * from {{ ref('int_balance_transaction_sales_split') }}
    where component_kind in ('revenue', 'discount')

),

products as (

    select product_id, name from {{ ref('stg_stripe__products') }}

),

final as (

    select
        ---------- ids
        split.entity_id,
        split.product_id,
        max(split.account_code) filter (where split.component_kind = 'revenue') as revenue_account_code,

        ---------- strings
        {{ format_date('split.accounting_date', '%Y-%m') }} as period,
        split.currency,
        any_value(products.name) as product_name,
        split.revenue_category,

        ---------- numerics
        cast(coalesce(-sum(split.amount_minor) filter (
            where split.refund_id is null and split.component_kind = 'revenue'
        ), 0) as bigint) as sales_minor,
        cast(coalesce(sum(split.amount_minor) filter (
            where split.refund_id is null and split.component_kind = 'discount'
        ), 0) as bigint) as discounts_minor,
        cast(coalesce(sum(split.amount_minor) filter (where split.split_basis = 'credit_note'), 0) as bigint) as credited_minor,
        cast(coalesce(sum(split.amount_minor) filter (
            where split.refund_id is not null and split.split_basis <> 'credit_note'
        ), 0) as bigint) as refunded_minor,
        cast(-sum(split.amount_minor) as bigint) as net_revenue_minor,

        ---------- booleans
        bool_or(split.is_unknown_product) as is_unknown_product

    from split
    left join products
        on split.product_id = products.product_id
    group by split.entity_id, split.product_id, {{ format_date('split.accounting_date', '%Y-%m') }}, split.currency, split.revenue_category

)

select * from final
