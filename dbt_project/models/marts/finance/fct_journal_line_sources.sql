-- A view: the drill-down line by line, computed when read from the stored records
-- (fct_journal_source_records), which hold each source id once.
{%- set source_columns = [
    'journal_line_id', 'journal_entry_id', 'entity_id', 'account_code', 'source_kind', 'source_id', 'line_role',
    'currency', 'amount_minor', 'accounting_date', 'period', 'original_journal_entry_id', 'original_accounting_date',
    'is_adjustment', 'is_locked',
] -%}
{{ config(materialized='view') }}

-- Drill-down: the source records (balance transactions, payout arrivals and returns) behind every
-- journal line, down to the balance transaction id. Locked periods keep their frozen rows.

with

frozen as (

    select {{ source_columns | reject('equalto', 'is_locked') | join(', ') }}, true as is_locked
    from {{ ref('stg_close__locked_journal_line_sources') }}

),

records as (

    select *, {{ unnest_as('lines', 'line') }}
    from {{ ref('fct_journal_source_records') }}

),

posted as (

    select
        journal_entry_id || '-' || line.account_code as journal_line_id,
        journal_entry_id,
        entity_id,
        line.account_code,
        source_kind,
        source_id,
        line.line_role,
        currency,
        line.amount_minor,
        accounting_date,
        period,
        original_journal_entry_id,
        original_accounting_date,
        is_adjustment,
        false as is_locked
    from records

),

final as (

    select {{ source_columns | join(', ') }} from frozen
    union all
    select {{ source_columns | join(', ') }} from posted

)

select * from final
