-- One row per balance transaction with the GL account of its gross amount and of its Stripe fee,
-- from the rule int_gl_mapping_rules_resolved chose for its classification (category, type,
-- currency, entity). An unknown category books to suspense instead of being dropped.

with

transactions as (

    select * from {{ ref('stg_stripe__balance_transactions') }}

),

resolved_rules as (

    select * from {{ ref('int_gl_mapping_rules_resolved') }}

),

mapped as (

    select
        transactions.*,
        {{ accounting_date('transactions.created_at') }} as accounting_date,
        coalesce(resolved_rules.gross_account_code, {{ control_account('suspense') }}) as gross_account_code,
        -- The account of the Stripe-fee part of `fee` (dispute fees differ from processing fees).
        coalesce(
            resolved_rules.fee_account_code,
            (select account_code from {{ ref('gl_fee_accounts') }} where fee_type = 'stripe_fee'),
            {{ control_account('default_fee') }}
        ) as stripe_fee_account_code,
        resolved_rules.gross_account_code is null as is_unmapped

    from transactions
    left join resolved_rules
        on transactions.reporting_category = resolved_rules.reporting_category
        and transactions.balance_transaction_type = resolved_rules.balance_transaction_type
        and transactions.currency = resolved_rules.currency
        and transactions.entity_id = resolved_rules.entity_id

)

select * from mapped
