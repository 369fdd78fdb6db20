{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'int_balance_transactions_mapped'}}}) }}
-- Warning: balance transactions whose category and type match no mapping rule. They are booked to
-- suspense (never dropped); add a row to seeds/gl_mapping_rules.csv to book them properly.

select
    reporting_category,
    balance_transaction_type,
    currency,
    count(*) as balance_transactions,
    min(balance_transaction_id) as example_balance_transaction_id
from {{ ref('int_balance_transactions_mapped') }}
where is_unmapped
group by all
