{%- set line_columns = [
    'journal_line_id', 'journal_entry_id', 'external_id', 'entity_id', 'account_code', 'account_name', 'currency',
    'period', 'memo', 'amount_minor', 'source_line_count', 'accounting_date', 'original_journal_entry_id',
    'original_accounting_date', 'is_adjustment', 'is_locked',
] -%}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_close_window_scope() }}",
    post_hook="{{ record_journal_build_mark() }}",
) }}
-- depends_on: {{ ref('int_journal_rebuild_days') }}, {{ ref('int_journal_rebuild_payouts') }} (read against the mark this model's post-hook moves)

-- The general ledger: one line per journal entry and account, signed minor units (debit positive);
-- every entry sums to zero. Entries are daily summaries per entity and currency by default (var
-- `journal_granularity`). Locked periods are served from their frozen lines, verbatim; changes to
-- them arrive as adjusting entries in the first open period.
-- Incremental like fct_journal_source_records: a close window rewrites the lines dated on the days
-- int_journal_rebuild_days lists and the adjusting lines; then the build's mark is recorded (what
-- the journal now holds, macros/journal_rebuild.sql).

with

frozen as (

    select {{ line_columns | reject('equalto', 'is_locked') | join(', ') }}, true as is_locked
    from {{ ref('stg_close__locked_journal_lines') }}

),

sources as (

    select {{ star_except(['lines']) }}, {{ unnest_fields('lines') }}
    from {{ ref('fct_journal_source_records') }}

),

accounts as (

    select * from {{ ref('gl_accounts') }}

),

summarized as (

    select
        journal_entry_id,
        entity_id,
        accounting_date,
        period,
        currency,
        account_code,
        original_journal_entry_id,
        original_accounting_date,
        is_adjustment,
        cast(sum(amount_minor) as bigint) as amount_minor,
        count(*) as source_line_count
    from sources
    group by all

),

posted as (

    select
        ---------- ids
        summarized.journal_entry_id || '-' || summarized.account_code as journal_line_id,
        summarized.journal_entry_id,
        summarized.journal_entry_id as external_id,
        summarized.entity_id,
        summarized.account_code,

        ---------- strings
        accounts.account_name,
        summarized.currency,
        summarized.period,
        case
            when summarized.is_adjustment then
                'Adjustment to ' || summarized.original_journal_entry_id
                || ' of ' || {{ format_date('summarized.original_accounting_date', '%Y-%m-%d') }}
                || ' (period ' || {{ format_date('summarized.original_accounting_date', '%Y-%m') }} || ' locked)'
            else 'Stripe activity ' || {{ format_date('summarized.accounting_date', '%Y-%m-%d') }} || ' ' || upper(summarized.currency)
        end as memo,

        ---------- numerics
        summarized.amount_minor,
        summarized.source_line_count,

        ---------- dates
        summarized.accounting_date,

        ---------- provenance
        summarized.original_journal_entry_id,
        summarized.original_accounting_date,
        summarized.is_adjustment,
        false as is_locked

    from summarized
    left join accounts
        on summarized.account_code = accounts.account_code
    -- A line that nets to zero carries no posting; its sources stay in the drill-down.
    where summarized.amount_minor <> 0

),

final as (

    select {{ line_columns | join(', ') }} from frozen
    union all
    select {{ line_columns | join(', ') }} from posted

)

select * from final
{%- if is_incremental() %}
where {{ close_window_scope() }}
{%- endif %}
