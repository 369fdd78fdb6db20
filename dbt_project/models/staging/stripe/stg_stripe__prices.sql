with

source as (

    select * from {{ source('stripe', 'stripe_prices') }}

),

renamed as (

    select
        ---------- ids
        id as price_id,
        product_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,

        ---------- strings
        lower(currency) as currency,
        type,
        billing_scheme,
        recurring_interval,
        tax_behavior,
        lookup_key,
        nickname,
        metadata,

        ---------- numerics
        unit_amount as unit_amount_minor,
        recurring_interval_count,

        ---------- booleans
        active as is_active,

        ---------- timestamps (UTC)
        created as created_at

    from source

)

select * from renamed
