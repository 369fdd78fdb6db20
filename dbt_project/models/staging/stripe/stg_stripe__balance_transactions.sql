with

source as (

    select * from {{ source('stripe', 'stripe_balance_transactions') }}

),

renamed as (

    select
        ---------- ids
        id as balance_transaction_id,
        source_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,

        ---------- strings
        type as balance_transaction_type,
        -- Stripe's accounting grouping; older objects may lack it, so fall back to the type.
        coalesce(reporting_category, type) as reporting_category,
        lower(currency) as currency,
        status,
        description,
        balance_type,

        ---------- numerics
        amount as amount_minor,
        fee as fee_minor,
        net as net_minor,
        exchange_rate,

        ---------- timestamps (UTC)
        created as created_at,
        available_on as available_at

    from source

)

select * from renamed
