with

source as (

    select * from {{ source('stripe', 'stripe_invoice_line_item_discounts') }}

),

renamed as (

    select
        ---------- ids
        line_item_id as invoice_line_item_id,
        invoice_id,
        discount_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,

        ---------- numerics
        position,
        amount as amount_minor

    from source

)

select * from renamed
