with

source as (

    select * from {{ source('stripe', 'stripe_charge_metadata') }}

),

renamed as (

    select
        ---------- ids
        charge_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,

        ---------- strings
        key,
        value

    from source

)

select * from renamed
