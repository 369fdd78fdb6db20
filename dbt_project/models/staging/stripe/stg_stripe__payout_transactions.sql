with

source as (

    select * from {{ source('stripe', 'stripe_payout_transactions') }}

),

renamed as (

    select
        payout_id,
        balance_transaction_id,
        stripe_account_id

    from source

)

select * from renamed
