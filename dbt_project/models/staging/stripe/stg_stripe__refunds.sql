with

source as (

    select * from {{ source('stripe', 'stripe_refunds') }}

),

renamed as (

    select
        ---------- ids
        id as refund_id,
        charge_id,
        payment_intent_id,
        balance_transaction_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,
        {{ json_text('metadata', 'tax_transaction') }} as tax_transaction_id,

        ---------- strings
        lower(currency) as currency,
        status,
        reason,
        metadata,

        ---------- numerics
        amount as amount_minor,

        ---------- timestamps (UTC)
        created as created_at

    from source

)

select * from renamed
