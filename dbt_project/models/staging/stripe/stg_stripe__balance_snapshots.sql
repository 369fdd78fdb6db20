with

source as (

    select * from {{ source('stripe', 'stripe_balance_snapshots') }}

),

renamed as (

    select
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,
        lower(currency) as currency,
        available_minor,
        pending_minor,
        connect_reserved_minor,
        available_minor + pending_minor as balance_minor,
        as_of as as_of_at

    from source

)

select * from renamed
