-- One row per balance transaction with the GL account of its gross amount and of its Stripe fee.
--
-- Rules match on the reporting category or on the type, optionally narrowed to a currency and an
-- entity (the transaction's, from its Stripe account); the most specific matching rule wins (entity, then type over category, then currency).
-- Rules are resolved once per distinct (category, type, currency), a few hundred combinations,
-- then joined back on equality, so ten million transactions never meet a non-equi join.
-- An unknown category books to suspense instead of being dropped.

with

transactions as (

    select * from {{ ref('stg_stripe__balance_transactions') }}

),

rules as (

    select * from {{ ref('gl_mapping_rules') }}

),

classifications as (

    select distinct reporting_category, balance_transaction_type, currency, entity_id
    from transactions

),

candidate_rules as (

    select
        classifications.reporting_category,
        classifications.balance_transaction_type,
        classifications.currency,
        classifications.entity_id,
        rules.gross_account_code,
        rules.fee_account_code,
        (case when rules.entity_id is not null then 4 else 0 end)
        + (case when rules.match_on = 'type' then 2 else 0 end)
        + (case when rules.currency is not null then 1 else 0 end) as specificity
    from classifications
    inner join rules
        on (
            (rules.match_on = 'reporting_category' and rules.match_value = classifications.reporting_category)
            or (rules.match_on = 'type' and rules.match_value = classifications.balance_transaction_type)
        )
        and coalesce(rules.currency, classifications.currency) = classifications.currency
        and coalesce(rules.entity_id, classifications.entity_id) = classifications.entity_id

),

resolved_rules as (

    select * from candidate_rules
    qualify row_number() over (
        partition by reporting_category, balance_transaction_type, currency, entity_id
        order by specificity desc
    ) = 1

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
