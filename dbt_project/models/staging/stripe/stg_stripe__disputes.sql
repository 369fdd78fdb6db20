with

source as (

    select * from {{ source('stripe', 'stripe_disputes') }}

),

renamed as (

    select
        ---------- ids
        id as dispute_id,
        charge_id,
        payment_intent_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,

        ---------- strings
        lower(currency) as currency,
        status,
        reason,

        ---------- numerics
        amount as amount_minor,

        ---------- booleans
        is_charge_refundable,

        ---------- timestamps (UTC)
        created as created_at

    from source

)

select * from renamed
