{{ config(meta={'dagster': {'ref': {'name': 'fct_journal_line_sources'}}, 'description': 'Tax payable ties to the tax amounts. Per entity, currency, tax account and period, the tax the journal books equals the tax amounts of the sales of the period (rpt_tax_payable_by_jurisdiction). When it fails: the rows name the account, period and both figures; build the ledger whole and report it if it persists.'}) }}
-- depends_on: {{ ref('fct_journal_line_sources') }}
-- Per entity, currency, tax account and period (of the original accounting date: an adjusting
-- entry counts in the period it corrects): the tax lines the journal books (roles `sale:tax...`,
-- posted, adjusting and frozen) equal the sum of the tax amounts of that period's sales
-- (rpt_tax_payable_by_jurisdiction, what the close package and the tax return read).

with

posted_taxes as (

    select
        entity_id,
        currency,
        coalesce(original_accounting_date, accounting_date) as accounting_date,
        {{ unnest_fields(list_where('lines', 'line', "line.line_role like 'sale:tax%'")) }}
    from {{ ref('fct_journal_source_records') }}
    where source_kind = 'balance_transaction'

),

frozen_taxes as (

    select entity_id, currency, coalesce(original_accounting_date, accounting_date) as accounting_date, account_code, amount_minor
    from {{ ref('stg_close__locked_journal_line_sources') }}
    where line_role like 'sale:tax%'

),

booked as (

    select entity_id, currency, account_code, {{ format_date('accounting_date', '%Y-%m') }} as period, -sum(amount_minor) as booked_minor
    from (
        select entity_id, currency, accounting_date, account_code, amount_minor from posted_taxes
        union all
        select entity_id, currency, accounting_date, account_code, amount_minor from frozen_taxes
    )
    group by all

),

reported as (

    select entity_id, currency, account_code, period, sum(tax_payable_minor) as reported_minor
    from {{ ref('rpt_tax_payable_by_jurisdiction') }}
    group by all

)

select
    coalesce(booked.entity_id, reported.entity_id) as entity_id,
    coalesce(booked.currency, reported.currency) as currency,
    coalesce(booked.account_code, reported.account_code) as account_code,
    coalesce(booked.period, reported.period) as period,
    coalesce(booked.booked_minor, 0) as booked_minor,
    coalesce(reported.reported_minor, 0) as reported_minor,
    coalesce(booked.booked_minor, 0) - coalesce(reported.reported_minor, 0) as difference_minor
from booked
full outer join reported
    on booked.entity_id = reported.entity_id
    and booked.currency = reported.currency
    and booked.account_code = reported.account_code
    and booked.period = reported.period
where coalesce(booked.booked_minor, 0) <> coalesce(reported.reported_minor, 0)
