with

source as (

    select * from {{ source('stripe', 'stripe_credit_note_line_item_taxes') }}

),

renamed as (

    select
        ---------- ids
        line_item_id as credit_note_line_item_id,
        credit_note_id,
        tax_rate_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,

        ---------- strings
        taxability_reason,
        tax_behavior,

        ---------- numerics
        position,
        amount as amount_minor,
        taxable_amount as taxable_amount_minor

    from source

)

select * from renamed
