with

source as (

    select * from {{ source('stripe', 'stripe_credit_note_line_items') }}

),

renamed as (

    select
        ---------- ids
        id as credit_note_line_item_id,
        credit_note_id,
        invoice_line_item_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,

        ---------- strings
        type,
        description,

        ---------- numerics
        position,
        amount as amount_minor,
        quantity,
        unit_amount as unit_amount_minor,
        discount_amount as discount_amount_minor,
        tax_amount as tax_amount_minor

    from source

)

select * from renamed
