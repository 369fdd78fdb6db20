-- What the ledger posts on top of the locked periods' frozen lines, per source record:
--   * open periods: the records exactly as the current facts call for them;
--   * locked periods: only the difference between the current facts and everything already posted
--     for the same original entry (its frozen lines plus earlier frozen adjustments), posted in the
--     first open period after it as an adjusting entry that cites the original entry and date.
-- Both sides of the difference balance per entry and currency, so every adjusting entry balances.
-- Differences are taken line by line; only the locked periods' records are unnested for it.
-- depends_on: {{ ref('stg_close__period_locks') }}
{%- set locked = locked_periods() %}

with

records as (

    select *, {{ format_date('accounting_date', '%Y-%m') }} as period
    from {{ ref('int_journal_source_records') }}

),

targets as (

    select * from {{ ref('int_period_locks_targeted') }}

),

frozen as (

    select * from {{ ref('stg_close__locked_journal_line_sources') }}

),

open_records as (

    select
        entity_id,
        journal_entry_id,
        source_kind,
        source_id,
        currency,
        accounting_date,
        period,
        journal_entry_id as original_journal_entry_id,
        accounting_date as original_accounting_date,
        false as is_adjustment,
        lines
    from records
    where not ({{ period_in('period', locked) }})

),

current_in_locked as (

    select
        entity_id,
        journal_entry_id,
        source_kind,
        source_id,
        currency,
        accounting_date,
        line.line_role,
        line.account_code,
        line.amount_minor
    from (
        select *, {{ unnest_as('lines', 'line') }}
        from records
        where {{ period_in('period', locked) }}
    )

),

already_posted as (

    select
        entity_id,
        original_journal_entry_id,
        currency,
        account_code,
        source_kind,
        source_id,
        line_role,
        any_value(original_accounting_date) as original_accounting_date,
        sum(amount_minor) as posted_minor
    from frozen
    where {{ period_in(format_date('original_accounting_date', '%Y-%m'), locked) }}
    group by all

),

differences as (

    select
        coalesce(current_in_locked.entity_id, already_posted.entity_id) as entity_id,
        coalesce(current_in_locked.journal_entry_id, already_posted.original_journal_entry_id) as original_journal_entry_id,
        coalesce(current_in_locked.accounting_date, already_posted.original_accounting_date) as original_accounting_date,
        coalesce(current_in_locked.source_kind, already_posted.source_kind) as source_kind,
        coalesce(current_in_locked.source_id, already_posted.source_id) as source_id,
        coalesce(current_in_locked.line_role, already_posted.line_role) as line_role,
        coalesce(current_in_locked.currency, already_posted.currency) as currency,
        coalesce(current_in_locked.account_code, already_posted.account_code) as account_code,
        coalesce(current_in_locked.amount_minor, 0) - coalesce(already_posted.posted_minor, 0) as amount_minor
    from current_in_locked
    full outer join already_posted
        on current_in_locked.journal_entry_id = already_posted.original_journal_entry_id
        and current_in_locked.entity_id = already_posted.entity_id
        and current_in_locked.currency = already_posted.currency
        and current_in_locked.account_code = already_posted.account_code
        and current_in_locked.source_kind = already_posted.source_kind
        and current_in_locked.source_id = already_posted.source_id
        and current_in_locked.line_role = already_posted.line_role
    where coalesce(current_in_locked.amount_minor, 0) <> coalesce(already_posted.posted_minor, 0)

),

adjustment_records as (

    select
        differences.entity_id,
        'ADJ-' || differences.original_journal_entry_id || '-' || replace(targets.adjustment_period, '-', '') as journal_entry_id,
        differences.source_kind,
        differences.source_id,
        differences.currency,
        cast(targets.adjustment_period || '-01' as date) as accounting_date,
        targets.adjustment_period as period,
        differences.original_journal_entry_id,
        differences.original_accounting_date,
        true as is_adjustment,
        -- Sorted by role, then account: the struct's first fields.
        {{ sorted_list_agg(journal_line('differences.line_role', 'differences.account_code', 'differences.amount_minor')) }} as lines
    from differences
    inner join targets
        on {{ format_date('differences.original_accounting_date', '%Y-%m') }} = targets.locked_period
    group by all

),

final as (

    -- Both list the same columns in the same order.
    select * from open_records
    union all
    select * from adjustment_records

)

select * from final
