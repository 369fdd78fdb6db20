with

source as (

    select * from {{ source('stripe', 'stripe_tax_transactions') }}

),

renamed as (

    select
        ---------- ids
        id as tax_transaction_id,
        customer_id,
        reversed_transaction_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,

        ---------- strings
        type as tax_transaction_type,
        reference,
        lower(currency) as currency,
        upper(customer_country) as customer_country,
        upper(customer_state) as customer_state,
        {{ iso_jurisdiction('customer_country', 'customer_state') }} as jurisdiction,
        address_source,
        taxability_override,
        metadata,

        ---------- numerics
        shipping_amount as shipping_minor,
        shipping_tax_amount as shipping_tax_minor,

        ---------- timestamps (UTC)
        created as created_at,
        posted_at,
        tax_date as tax_at

    from source

)

select * from renamed
