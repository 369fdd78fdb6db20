{{ config(materialized='table') }}

-- The payouts a windowed build proves equal to their transactions (payouts_equal_their_transactions):
-- those whose payout, payout links or settled transactions landed since the last build, however
-- old. A payout none of whose records changed is as the last build proved it (a failed build
-- leaves no mark: the next proves every payout). One row with a null id means every payout: a
-- build without window, or no mark of an earlier build on the same basis (int_journal_rebuild_days).
-- A table, built before fct_journal_lines, whose post-hook moves the mark this list is read against.
{#- The window is read as the model runs, never as it parses: a new window keeps dbt's partial parse. #}
{%- set window = close_window() if execute else none %}
{%- set mark = journal_build_mark() %}
-- depends_on: {{ source('stripe', 'stripe_payouts') }}, {{ source('stripe', 'stripe_payout_transactions') }}, {{ source('stripe', 'stripe_balance_transactions') }}

{%- if window is none or mark is none or mark[1] != journal_build_basis() %}

select cast(null as string) as payout_id

{%- else %}

-- Each read filters on `_loaded_at` first (DuckDB skips the row groups loaded before the mark); the
-- links of the landed transactions are one scan of a column.
select id as payout_id
from {{ source('stripe', 'stripe_payouts') }}
where _loaded_at > timestamp '{{ mark[0] }}'
union
select payout_id
from {{ source('stripe', 'stripe_payout_transactions') }}
where _loaded_at > timestamp '{{ mark[0] }}'
union
select links.payout_id
from {{ source('stripe', 'stripe_payout_transactions') }} as links
semi join (
    select id from {{ source('stripe', 'stripe_balance_transactions') }} where _loaded_at > timestamp '{{ mark[0] }}'
) as landed
    on links.balance_transaction_id = landed.id

{%- endif %}
