{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'int_balance_transactions_mapped'}}}) }}
-- depends_on: {{ ref('int_balance_transactions_mapped') }}
-- Warning: balance transactions whose category and type match no mapping rule. They are booked to
-- suspense (never dropped); add a row to seeds/gl_mapping_rules.csv to book them properly.
-- It reads the classifications (int_gl_mapping_rules_resolved) and looks up transactions only for
-- the unmapped ones, for an example id.

with

unmapped as (

    select * from {{ ref('int_gl_mapping_rules_resolved') }}
    where is_unmapped

),

examples as (

    select
        transactions.reporting_category,
        transactions.balance_transaction_type,
        transactions.currency,
        transactions.entity_id,
        min(transactions.balance_transaction_id) as example_balance_transaction_id
    from {{ ref('stg_stripe__balance_transactions') }} as transactions
    inner join unmapped
        on transactions.reporting_category = unmapped.reporting_category
        and transactions.balance_transaction_type = unmapped.balance_transaction_type
        and transactions.currency = unmapped.currency
        and transactions.entity_id is not distinct from unmapped.entity_id
    group by all

)

select
    unmapped.reporting_category,
    unmapped.balance_transaction_type,
    unmapped.currency,
    unmapped.balance_transactions,
    examples.example_balance_transaction_id
from unmapped
left join examples
    on unmapped.reporting_category = examples.reporting_category
    and unmapped.balance_transaction_type = examples.balance_transaction_type
    and unmapped.currency = examples.currency
    and unmapped.entity_id is not distinct from examples.entity_id
