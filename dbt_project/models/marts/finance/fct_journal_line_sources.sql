-- Drill-down: which balance transactions (and payout arrivals) make up each summarized journal line.

with

line_items as (

    select * from {{ ref('int_journal_line_items') }}

),

final as (

    select
        journal_entry_id || '-' || account_code as journal_line_id,
        journal_entry_id,
        entity_id,
        account_code,
        source_kind,
        source_id,
        line_role,
        currency,
        cast(amount_minor as bigint) as amount_minor,
        accounting_date
    from line_items

)

select * from final
