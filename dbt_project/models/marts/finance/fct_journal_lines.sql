-- The general ledger: one summarized journal entry per entity, accounting date and currency,
-- one line per account. Signed minor units, debit positive; every entry sums to zero.

with

line_items as (

    select * from {{ ref('int_journal_line_items') }}

),

accounts as (

    select * from {{ ref('gl_accounts') }}

),

summarized as (

    select
        journal_entry_id,
        entity_id,
        accounting_date,
        currency,
        account_code,
        cast(sum(amount_minor) as bigint) as amount_minor,
        count(*) as source_line_count
    from line_items
    group by all

),

final as (

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
        strftime(summarized.accounting_date, '%Y-%m') as period,
        'Stripe activity ' || strftime(summarized.accounting_date, '%Y-%m-%d') || ' ' || upper(summarized.currency) as memo,

        ---------- numerics
        summarized.amount_minor,
        summarized.source_line_count,

        ---------- dates
        summarized.accounting_date

    from summarized
    left join accounts
        on summarized.account_code = accounts.account_code
    -- A line that nets to zero carries no posting; its sources stay in the drill-down.
    where summarized.amount_minor <> 0

)

select * from final
