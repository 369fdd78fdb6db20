{{ config(meta={'dagster': {'ref': {'name': 'fct_journal_line_sources'}}, 'description': 'Every transaction booked once. Every Stripe balance transaction with a movement is in exactly one journal entry: none missing, none doubled. When it fails: the rows name the transactions; run the ledger again for their days, and report it if it persists.'}) }}
-- depends_on: {{ ref('fct_journal_line_sources') }}, {{ ref('int_journal_rebuild_days') }}, {{ ref('stg_close__period_locks') }}
-- Proof 1: every balance transaction with a movement is booked under exactly one original journal
-- entry (adjusting entries cite it), with its gross on at most one gross line and the lines of its
-- sale's parts (roles `sale:...`, int_balance_transaction_sales_split), and exactly its net on Stripe
-- clearing; and per currency, everything booked from balance transactions sums to zero.
-- Returns each culprit transaction (or currency) with what is wrong.
-- It reads the drill-down where it is stored: one row per posted record with its lines
-- (fct_journal_source_records, whose gross and clearing lines it filters without unnesting) and
-- the frozen lines of locked periods. A stray fee line still breaks the per-currency sum.
-- A windowed build proves the transactions it may have changed: those whose records it rewrote
-- (close_window_scope: the rebuilt days and every adjustment), those dated on a rebuilt day (a
-- transaction missing from the journal has no record) and those of locked periods (their late facts
-- become adjustments). The other days' records are as the last build proved them (a failed build
-- leaves no mark: the next one proves every day). Each record's lines sum to zero, so the
-- per-currency sum over the proven records is zero when the whole is.
{%- set rebuild_days = journal_rebuild_days() %}

with

{% if rebuild_days is not none -%}
proven as (

    select source_id as balance_transaction_id
    from {{ ref('fct_journal_source_records') }}
    where source_kind = 'balance_transaction'
        and {{ close_window_scope() }}
    union
    select balance_transaction_id
    from {{ ref('stg_stripe__balance_transactions') }}
    where {{ day_in(accounting_date('created_at'), rebuild_days) }}
        or {{ period_in(format_date(accounting_date('created_at'), '%Y-%m'), locked_periods()) }}

),

{% endif -%}
transactions as (

    select * from {{ ref('stg_stripe__balance_transactions') }}
    {%- if rebuild_days is not none %}
    semi join proven using (balance_transaction_id)
    {%- endif %}
    where amount_minor <> 0 or fee_minor <> 0 or net_minor <> 0

),

-- Read twice, by the per-transaction and the per-currency checks: scanning the stored records
-- again costs less than holding ten million of them in between.
posted_records as {{ inlined_cte() }} (

    select source_id, currency, original_journal_entry_id, is_adjustment, lines
    from {{ ref('fct_journal_source_records') }}
    {%- if rebuild_days is not none %}
    semi join proven
        on source_id = proven.balance_transaction_id
    {%- endif %}
    where source_kind = 'balance_transaction'

),

frozen_lines as {{ inlined_cte() }} (

    select * from {{ ref('stg_close__locked_journal_line_sources') }}
    {%- if rebuild_days is not none %}
    semi join proven
        on source_id = proven.balance_transaction_id
    {%- endif %}
    where source_kind = 'balance_transaction'

),

-- Per record (posted) or line (frozen): its gross and clearing lines, counted and summed.
booked_parts as (

    select
        source_id,
        original_journal_entry_id,
        is_adjustment,
        {{ list_length(list_where('gross_lines', 'line', "line.line_role = 'gross'")) }} as gross_rows,
        {{ list_length('clearing_lines') }} as clearing_rows,
        coalesce({{ list_sum_of('gross_lines', 'line', '-line.amount_minor') }}, 0) as gross_minor,
        coalesce({{ list_sum_of('clearing_lines', 'line', 'line.amount_minor') }}, 0) as clearing_minor
    from (
        select
            *,
            {{ list_where('lines', 'line', "line.line_role = 'gross' or line.line_role like 'sale:%'") }} as gross_lines,
            {{ list_where('lines', 'line', "line.line_role = 'stripe_clearing'") }} as clearing_lines
        from posted_records
    )
    where {{ list_length('gross_lines') }} + {{ list_length('clearing_lines') }} > 0
    union all
    select
        source_id,
        original_journal_entry_id,
        is_adjustment,
        case when line_role = 'gross' then 1 else 0 end,
        case when line_role = 'stripe_clearing' then 1 else 0 end,
        case when line_role = 'gross' or line_role like 'sale:%' then -amount_minor else 0 end,
        case when line_role = 'stripe_clearing' then amount_minor else 0 end
    from frozen_lines
    where line_role in ('gross', 'stripe_clearing') or line_role like 'sale:%'

),

-- One aggregate per transaction: the entry ids of its parts differ when its smallest and largest do.
booked as (

    select
        source_id as balance_transaction_id,
        sum(case when not is_adjustment then gross_rows else 0 end) as gross_rows,
        sum(case when not is_adjustment then clearing_rows else 0 end) as clearing_rows,
        sum(gross_minor) as gross_minor,
        sum(clearing_minor) as clearing_minor,
        min(original_journal_entry_id) <> max(original_journal_entry_id) as is_in_several_entries
    from booked_parts
    group by source_id

),

per_transaction as (

    select
        coalesce(transactions.balance_transaction_id, booked.balance_transaction_id) as culprit,
        case
            when booked.balance_transaction_id is null then 'not booked'
            when transactions.balance_transaction_id is null then 'booked but not a Stripe balance transaction'
            when booked.is_in_several_entries then 'booked in several journal entries'
            when booked.gross_rows > 1 or booked.clearing_rows > 1 then 'booked twice'
            when booked.clearing_minor <> transactions.net_minor then 'Stripe clearing differs from net'
            else 'booked gross differs from amount'
        end as problem,
        transactions.amount_minor,
        booked.gross_minor,
        transactions.net_minor,
        booked.clearing_minor
    from transactions
    full outer join booked
        on transactions.balance_transaction_id = booked.balance_transaction_id
    where transactions.balance_transaction_id is null
        or booked.balance_transaction_id is null
        or booked.is_in_several_entries
        or booked.gross_rows > 1
        or booked.clearing_rows > 1
        or booked.clearing_minor <> transactions.net_minor
        or booked.gross_minor <> transactions.amount_minor

),

per_currency as (

    select
        currency as culprit,
        'balance transactions booked in ' || upper(currency) || ' do not sum to zero' as problem,
        cast(null as bigint) as amount_minor,
        cast(null as bigint) as gross_minor,
        cast(null as bigint) as net_minor,
        cast(sum(booked_minor) as bigint) as clearing_minor
    from (
        select currency, {{ list_sum_of('lines', 'line', 'line.amount_minor') }} as booked_minor from posted_records
        union all
        select currency, amount_minor from frozen_lines
    )
    group by currency
    having sum(booked_minor) <> 0

)

select * from per_transaction
union all
select * from per_currency
