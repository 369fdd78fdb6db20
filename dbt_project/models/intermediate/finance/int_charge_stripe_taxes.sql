-- The tax Stripe Tax computed on each charge that names its tax transaction in its metadata
-- (`tax_transaction`, ledger.sources.source_tables.TAX_TRANSACTION_KEY, as the merchant's checkout
-- records it: Stripe links them no other way), one
-- row per charge: what a charge without an invoice owes per jurisdiction.

with

named as (

    select charge_id, value as tax_transaction_id
    from {{ ref('stg_stripe__charge_metadata') }}
    where key = 'tax_transaction'

),

transactions as (

    select * from {{ ref('stg_stripe__tax_transactions') }}

),

lines as (

    select
        tax_transaction_id,
        -- The amount before tax, whichever way the line was priced.
        sum(case when tax_behavior = 'inclusive' then amount_minor - tax_minor else amount_minor end) as taxable_minor,
        sum(tax_minor) as tax_minor
    from {{ ref('stg_stripe__tax_transaction_line_items') }}
    group by tax_transaction_id

),

final as (

    select
        named.charge_id,
        transactions.tax_transaction_id,
        transactions.entity_id,
        transactions.currency,
        transactions.jurisdiction,
        transactions.customer_country,
        transactions.customer_state,
        lines.taxable_minor + coalesce(transactions.shipping_minor, 0) as taxable_minor,
        lines.tax_minor + coalesce(transactions.shipping_tax_minor, 0) as tax_minor,
        -- Computed from the amounts (Stripe's transaction does not state its rate): the nominal rate
        -- up to the rounding of the tax to the minor unit. Integer arithmetic, rounded half away from
        -- zero to 0.0001 %: DuckDB divides decimals in floating point.
        case when lines.taxable_minor <> 0
            then cast(
                sign(lines.tax_minor) * sign(lines.taxable_minor)
                * {{ integer_divide('2 * abs(lines.tax_minor) * 1000000 + abs(lines.taxable_minor)', '2 * abs(lines.taxable_minor)') }}
                as decimal(18, 0)) * 0.0001
        end as effective_tax_rate_percent,
        transactions.tax_at
    from named
    inner join transactions
        on named.tax_transaction_id = transactions.tax_transaction_id
    inner join lines
        on transactions.tax_transaction_id = lines.tax_transaction_id

)

select * from final
