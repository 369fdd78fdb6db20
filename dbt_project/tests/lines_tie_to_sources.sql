{{ config(meta={'dagster': {'ref': {'name': 'fct_journal_lines'}}, 'description': 'Journal lines tie to their sources. Every journal line equals the sum of the Stripe records behind it (the drill-down is complete). When it fails: the rows name the lines; run the ledger again for their days, and report it if it persists.'}) }}
-- Drill-down proof: every journal line equals the sum of its source rows, and every source row
-- belongs to a line (or to a line that nets to zero). Returns the lines that do not tie.
-- A windowed build proves the lines and sources it rewrote (close_window_scope: a line and its
-- sources share their entry's date and adjustment flag); the others are as the last build proved them.
-- depends_on: {{ ref('int_journal_rebuild_days') }}

with

lines as (

    select journal_line_id, amount_minor from {{ ref('fct_journal_lines') }}
    where {{ close_window_scope() }}

),

-- Grouped by entry and account, whose join is the line id: the id is built once per line, not
-- once per source row.
sources as (

    select
        journal_entry_id || '-' || account_code as journal_line_id,
        sum(amount_minor) as sources_minor,
        count(*) as source_rows
    from {{ ref('fct_journal_line_sources') }}
    where {{ close_window_scope() }}
    group by journal_entry_id, account_code

)

select
    coalesce(lines.journal_line_id, sources.journal_line_id) as journal_line_id,
    lines.amount_minor as line_minor,
    sources.sources_minor,
    sources.source_rows
from lines
full outer join sources
    on lines.journal_line_id = sources.journal_line_id
where coalesce(lines.amount_minor, 0) <> coalesce(sources.sources_minor, 0)
