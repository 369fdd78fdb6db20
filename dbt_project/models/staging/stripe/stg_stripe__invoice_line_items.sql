with

source as (

    select * from {{ source('stripe', 'stripe_invoice_line_items') }}

),

renamed as (

    select
        ---------- ids
        id as invoice_line_item_id,
        invoice_id,
        price_id,
        product_id,
        subscription_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,

        ---------- strings
        lower(currency) as currency,
        unit_amount_decimal,
        parent_type,
        metadata,
        description,

        ---------- numerics
        position,
        amount as amount_minor,
        quantity,
        discount_amount as discount_amount_minor,
        tax_amount as tax_amount_minor,

        ---------- timestamps (UTC)
        period_start as period_start_at,
        period_end as period_end_at

    from source

)

select * from renamed
