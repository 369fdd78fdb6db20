with

source as (

    select * from {{ source('stripe', 'stripe_products') }}

),

renamed as (

    select
        ---------- ids
        id as product_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,

        ---------- strings
        name,
        type,
        tax_code,
        unit_label,
        metadata,
        description,

        ---------- booleans
        active as is_active,
        shippable as is_shippable,

        ---------- timestamps (UTC)
        created as created_at,
        updated as updated_at

    from source

)

select * from renamed
