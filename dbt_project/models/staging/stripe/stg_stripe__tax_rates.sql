with

source as (

    select * from {{ source('stripe', 'stripe_tax_rates') }}

),

renamed as (

    select
        ---------- ids
        id as tax_rate_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,

        ---------- strings
        display_name,
        country,
        state,
        -- As Stripe Tax names it (`US-CA`, `DE`: macros/iso_jurisdiction.sql), from the rate's country
        -- and state; a rate without a country (a zero-rated export) keeps its free-text name.
        coalesce({{ iso_jurisdiction('country', 'state') }}, jurisdiction) as jurisdiction,
        jurisdiction as jurisdiction_name,
        jurisdiction_level,
        tax_type,
        metadata,
        description,

        ---------- numerics
        percentage,

        ---------- booleans
        inclusive as is_inclusive,
        active as is_active,

        ---------- timestamps (UTC)
        created as created_at

    from source

)

select * from renamed
