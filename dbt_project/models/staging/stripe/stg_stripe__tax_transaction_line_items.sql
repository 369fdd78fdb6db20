with

source as (

    select * from {{ source('stripe', 'stripe_tax_transaction_line_items') }}

),

renamed as (

    select
        ---------- ids
        id as tax_transaction_line_item_id,
        tax_transaction_id,
        product_id,
        reversed_line_item_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,

        ---------- strings
        type as line_item_type,
        reference,
        tax_behavior,
        tax_code,
        metadata,

        ---------- numerics
        position,
        quantity,
        amount as amount_minor,
        amount_tax as tax_minor

    from source

)

select * from renamed
