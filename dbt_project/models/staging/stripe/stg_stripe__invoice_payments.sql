with

source as (

    select * from {{ source('stripe', 'stripe_invoice_payments') }}

),

renamed as (

    select
        ---------- ids
        id as invoice_payment_id,
        invoice_id,
        payment_intent_id,
        charge_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,

        ---------- strings
        payment_type,
        lower(currency) as currency,
        status,

        ---------- numerics
        amount_paid as amount_paid_minor,
        amount_requested as amount_requested_minor,

        ---------- timestamps (UTC)
        created as created_at,
        paid_at

    from source

)

select * from renamed
