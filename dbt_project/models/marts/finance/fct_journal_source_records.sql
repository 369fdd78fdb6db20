{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_close_window_scope() }}",
) }}
-- depends_on: {{ ref('int_journal_rebuild_days') }}

-- The stored drill-down: one row per source record (balance transaction, payout arrival or return)
-- and journal entry posted outside the locked periods, with the record's journal `lines` (role,
-- account, signed amount). Each source id is stored once, not once per line: at ten million
-- transactions that is a third of the rows and most of the ledger's write time.
-- fct_journal_line_sources reads it line by line; fct_journal_lines sums it.
-- Incremental: a build with a close window (CLOSE_WINDOW_START/_END) rewrites only the
-- records dated on the days int_journal_rebuild_days lists (the window's and those of late
-- facts), plus the adjusting records; without one it rewrites everything.

with

posted as (

    select * from {{ ref('int_journal_source_records_posted') }}

)

select
    ---------- ids
    entity_id,
    journal_entry_id,
    source_kind,
    source_id,

    ---------- strings
    currency,
    period,

    ---------- lines
    lines,

    ---------- dates
    accounting_date,

    ---------- provenance
    original_journal_entry_id,
    original_accounting_date,
    is_adjustment

from posted
{%- if is_incremental() %}
where {{ close_window_scope() }}
{%- endif %}
