with

source as (

    select * from {{ source('stripe', 'stripe_fee_details') }}

),

renamed as (

    select
        ---------- ids
        balance_transaction_id,
        application as application_id,
        stripe_account_id,

        ---------- strings
        type as fee_type,
        lower(currency) as currency,
        description,

        ---------- numerics
        position as fee_position,
        amount as amount_minor

    from source

)

select * from renamed
