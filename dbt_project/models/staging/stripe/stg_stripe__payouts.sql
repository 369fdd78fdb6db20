with

source as (

    select * from {{ source('stripe', 'stripe_payouts') }}

),

renamed as (

    select
        ---------- ids
        id as payout_id,
        balance_transaction_id,
        failure_balance_transaction_id,
        destination_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,

        ---------- strings
        lower(currency) as currency,
        status as payout_status,
        method as payout_method,
        type as payout_type,
        failure_code,
        failure_message,
        reconciliation_status,
        -- Why Stripe cannot list the payout's transactions (manual, instant, still reconciling); null when it can.
        not_itemizable_reason,
        trace_id_status,
        trace_id_value,
        statement_descriptor,
        description,

        ---------- numerics
        -- Positive: what leaves the Stripe balance for the bank (its balance transaction is negative).
        amount as amount_minor,

        ---------- booleans
        automatic as is_automatic,

        ---------- dates and timestamps (UTC)
        cast(arrival_date as date) as arrival_date,
        created as created_at

    from source

)

select * from renamed
