with

source as (

    select * from {{ source('stripe', 'stripe_charges') }}

),

renamed as (

    select
        ---------- ids
        id as charge_id,
        balance_transaction_id,
        payment_intent_id,
        customer_id,
        application_fee_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,

        ---------- strings
        lower(currency) as currency,
        status,
        payment_method_type,
        card_brand,
        card_country,
        card_funding,
        outcome_type,
        outcome_network_status,
        outcome_reason,
        calculated_statement_descriptor,
        metadata,
        description,
        receipt_email,
        billing_details_name,
        billing_details_email,
        billing_details_phone,
        billing_details_address,

        ---------- numerics
        amount as amount_minor,
        amount_captured as amount_captured_minor,
        amount_refunded as amount_refunded_minor,
        application_fee_amount as application_fee_amount_minor,

        ---------- booleans
        captured as is_captured,
        paid as is_paid,
        refunded as is_refunded,
        disputed as is_disputed,

        ---------- timestamps (UTC)
        created as created_at

    from source

)

select * from renamed
