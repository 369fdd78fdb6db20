{{ config(materialized='table') }}

-- The mapping rule that books each classification of balance transaction present: one row per
-- (reporting category, type, currency, entity), a few hundred at most, with the accounts of the
-- most specific matching rule (entity, then type over category, then currency), or none.
-- Rules match on the reporting category or on the type, optionally narrowed to a currency and an
-- entity (the transaction's, from its Stripe account).
-- A table: int_balance_transactions_mapped joins ten million transactions to it on equality, and
-- rpt_suspense_postings reads it, so the transactions are classified once per build.
-- Each rule carries its line in seeds/gl_mapping_rules.csv, so a reviewer can find it: the seed is
-- loaded by one COPY of the file into a new table, whose row ids follow the file's order.

with

transactions as (

    select * from {{ ref('stg_stripe__balance_transactions') }}

),

rules as (

    select *, {{ seed_row_position() }} + 2 as rule_line from {{ ref('gl_mapping_rules') }}

),

classifications as (

    select
        reporting_category,
        balance_transaction_type,
        currency,
        entity_id,
        count(*) as balance_transactions
    from transactions
    group by all

),

candidate_rules as (

    select
        classifications.reporting_category,
        classifications.balance_transaction_type,
        classifications.currency,
        classifications.entity_id,
        rules.gross_account_code,
        rules.fee_account_code,
        rules.rule_line,
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

final as (

    select
        classifications.reporting_category,
        classifications.balance_transaction_type,
        classifications.currency,
        classifications.entity_id,
        classifications.balance_transactions,
        resolved_rules.gross_account_code,
        resolved_rules.fee_account_code,
        resolved_rules.rule_line as mapping_rule_line,
        resolved_rules.gross_account_code is null as is_unmapped
    from classifications
    left join resolved_rules
        on classifications.reporting_category = resolved_rules.reporting_category
        and classifications.balance_transaction_type = resolved_rules.balance_transaction_type
        and classifications.currency = resolved_rules.currency
        and classifications.entity_id is not distinct from resolved_rules.entity_id

)

select * from final
