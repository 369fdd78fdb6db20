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

)

-- Every unmapped classification came from transactions, so each finds at least one here.
select
    unmapped.reporting_category,
    unmapped.balance_transaction_type,
    unmapped.currency,
    unmapped.balance_transactions,
    min(transactions.balance_transaction_id) as example_balance_transaction_id
from unmapped
inner join {{ ref('stg_stripe__balance_transactions') }} as transactions
    on transactions.reporting_category = unmapped.reporting_category
    and transactions.balance_transaction_type = unmapped.balance_transaction_type
    and transactions.currency = unmapped.currency
    and transactions.entity_id is not distinct from unmapped.entity_id
group by unmapped.reporting_category, unmapped.balance_transaction_type, unmapped.currency, unmapped.entity_id, unmapped.balance_transactions
