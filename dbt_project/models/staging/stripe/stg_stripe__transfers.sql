with

source as (

    select * from {{ source('stripe', 'stripe_transfers') }}

),

renamed as (

    select
        ---------- ids
        id as transfer_id,
        balance_transaction_id,
        destination_id as destination_account_id,
        destination_payment_id,
        source_transaction_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,

        ---------- strings
        lower(currency) as currency,
        source_type,
        transfer_group,
        description,

        ---------- numerics
        amount as amount_minor,
        amount_reversed as amount_reversed_minor,

        ---------- booleans
        reversed as is_reversed,

        ---------- timestamps (UTC)
        created as created_at

    from source

)

select * from renamed
