with

source as (

    select * from {{ source('stripe', 'stripe_invoices') }}

),

renamed as (

    select
        ---------- ids
        id as invoice_id,
        customer_id,
        subscription_id,
        shipping_rate_id,
        stripe_account_id,
        {{ stripe_account_entity('source.stripe_account_id') }} as entity_id,

        ---------- strings
        number,
        lower(currency) as currency,
        status,
        billing_reason,
        collection_method,
        customer_tax_exempt,
        metadata,
        description,
        customer_name,
        customer_email,
        customer_phone,
        customer_address,

        ---------- numerics
        subtotal as subtotal_minor,
        subtotal_excluding_tax as subtotal_excluding_tax_minor,
        total_discount_amount as total_discount_amount_minor,
        total_tax_amount as total_tax_amount_minor,
        amount_shipping as shipping_minor,
        shipping_tax_amount as shipping_tax_amount_minor,
        total_excluding_tax as total_excluding_tax_minor,
        total as total_minor,
        amount_due as amount_due_minor,
        amount_paid as amount_paid_minor,

        ---------- timestamps (UTC)
        created as created_at,
        period_start as period_start_at,
        period_end as period_end_at,
        paid_at

    from source

)

select * from renamed
