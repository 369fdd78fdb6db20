with

source as (

    select * from {{ source('stripe', 'stripe_credit_notes') }}

),

renamed as (

    select
        ---------- ids
        id as credit_note_id,
        invoice_id,
        customer_id,
        refund_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,

        ---------- strings
        number,
        lower(currency) as currency,
        status,
        type,
        reason,
        memo,

        ---------- numerics
        subtotal as subtotal_minor,
        discount_amount as discount_amount_minor,
        total_tax_amount as total_tax_amount_minor,
        amount_shipping as shipping_minor,
        total as total_minor,
        out_of_band_amount as out_of_band_amount_minor,
        refund_amount as refund_amount_minor,

        ---------- timestamps (UTC)
        created as created_at,
        effective_at

    from source

)

select * from renamed
