{{ config(meta={'dagster': {'ref': {'name': 'fct_journal_lines'}}, 'description': 'Journal entries balance. Every journal entry sums to zero in its currency (debits = credits). When it fails: the rows name the entries and their imbalance; exports are blocked; check a recent change to the mapping seeds, run the ledger again, and report it if it persists.'}) }}
-- Proof 2: every journal entry sums to zero in its currency. Returns the entries that do not.
-- A windowed build proves the entries it rewrote (close_window_scope); the others are as the last build proved them.
-- depends_on: {{ ref('int_journal_rebuild_days') }}

select
    journal_entry_id,
    currency,
    sum(amount_minor) as imbalance_minor
from {{ ref('fct_journal_lines') }}
where {{ close_window_scope() }}
group by journal_entry_id, currency
having sum(amount_minor) <> 0
