-- Period-end revaluation of foreign-currency monetary balances, and its reversal.
-- At each month end, every balance-sheet account (gl_accounts type asset or liability) that holds
-- a balance in a currency other than its entity's functional currency is revalued at the latest
-- fx_rates rate on or before that day; the difference against its carried functional amount (the
-- sum of its translated lines) books to the account, against unrealized FX gain/loss (control
-- account fx_unrealized_gain_loss), in one entry per entity, month and currency
-- `STRIPE-<entity>-REVAL-YYYYMM-CUR` dated the month's last day. Every revaluation reverses on the
-- first day of the next month (`...-REVERSAL`), so the carried amount is always the translated one
-- and each month end is revalued afresh. Lines carry `amount_minor` 0: the transaction-currency
-- balance does not move, only its functional amount.
-- Locked periods are served from their frozen copy, and a reversal negates the revaluation as
-- served, so a rate edited after a lock changes neither the locked month nor its reversal; the
-- next open month end absorbs the difference.

{%- set entry_line_columns -%}
    journal_entry_id, entity_id, account_code, currency, functional_currency, fx_rate, functional_amount_minor, accounting_date, period
{%- endset %}

with

translated as (

    select * from {{ ref('fct_journal_lines_translated') }}

),

frozen as (

    select {{ star_except(['locked_period']) }}
    from {{ ref('stg_close__locked_fx_revaluation_lines') }}

),

locks as (

    select period from {{ ref('stg_close__period_locks') }}

),

rates as (

    select * from {{ ref('fx_rates') }}

),

exponents as (

    select * from {{ ref('currency_exponents') }}

),

accounts as (

    select * from {{ ref('gl_accounts') }}

),

entity_spans as (

    select
        entity_id,
        cast(date_trunc('month', min(accounting_date)) as timestamp) as first_month,
        cast(date_trunc('month', max(accounting_date)) as timestamp) as last_month
    from translated
    group by entity_id

),

month_ends as (

    select
        entity_id,
        {{ format_date('month_start', '%Y-%m') }} as period,
        cast(month_start + interval 1 month - interval 1 day as date) as month_end
    from (
        select entity_id, {{ unnest_as(month_list('first_month', 'last_month'), 'month_start') }}
        from entity_spans
    ) as months

),

monthly_activity as (

    select
        translated.entity_id,
        translated.account_code,
        translated.currency,
        translated.functional_currency,
        translated.period,
        sum(translated.amount_minor) as amount_minor,
        sum(translated.functional_amount_minor) as functional_amount_minor
    from translated
    inner join accounts
        on translated.account_code = accounts.account_code
    where translated.currency <> translated.functional_currency
        and accounts.account_type in ('asset', 'liability')
    group by all

),

balance_keys as (

    select
        entity_id,
        account_code,
        currency,
        functional_currency,
        min(period) as first_period
    from monthly_activity
    group by all

),

balances as (

    select
        balance_keys.entity_id,
        balance_keys.account_code,
        balance_keys.currency,
        balance_keys.functional_currency,
        month_ends.period,
        month_ends.month_end,
        sum(coalesce(monthly_activity.amount_minor, 0)) over running as balance_minor,
        sum(coalesce(monthly_activity.functional_amount_minor, 0)) over running as carried_functional_minor
    from balance_keys
    inner join month_ends
        on balance_keys.entity_id = month_ends.entity_id
        and month_ends.period >= balance_keys.first_period
    left join monthly_activity
        on balance_keys.entity_id = monthly_activity.entity_id
        and balance_keys.account_code = monthly_activity.account_code
        and balance_keys.currency = monthly_activity.currency
        and month_ends.period = monthly_activity.period
    window running as (
        partition by balance_keys.entity_id, balance_keys.account_code, balance_keys.currency
        order by month_ends.period
    )

),

revalued as (

    select
        balances.*,
        rates.rate as fx_rate,
        {{ to_functional_minor('balances.balance_minor', 'rates.rate', 'transactional.exponent', 'functional.exponent') }}
            - balances.carried_functional_minor as revaluation_minor
    from balances
    {{ asof_join('inner', 'balances', 'rates', 'rates', ['currency', 'functional_currency'], 'balances.month_end', 'rate_date') }}
    left join exponents as functional
        on balances.functional_currency = functional.currency
    left join exponents as transactional
        on balances.currency = transactional.currency
    where balances.period not in (select period from locks)

),

account_lines as (

    select
        'STRIPE-' || entity_id || '-REVAL-' || replace(period, '-', '') || '-' || upper(currency) as journal_entry_id,
        entity_id,
        account_code,
        currency,
        functional_currency,
        fx_rate,
        revaluation_minor as functional_amount_minor,
        month_end as accounting_date,
        period
    from revalued
    where revaluation_minor <> 0

),

offset_lines as (

    select
        journal_entry_id,
        entity_id,
        {{ control_account('fx_unrealized_gain_loss') }} as account_code,
        currency,
        any_value(functional_currency) as functional_currency,
        any_value(fx_rate) as fx_rate,
        -sum(functional_amount_minor) as functional_amount_minor,
        any_value(accounting_date) as accounting_date,
        any_value(period) as period
    from account_lines
    group by journal_entry_id, entity_id, currency
    having sum(functional_amount_minor) <> 0

),

computed_revaluations as (

    select
        entry_lines.journal_entry_id || '-' || entry_lines.account_code as journal_line_id,
        entry_lines.journal_entry_id,
        entry_lines.journal_entry_id as external_id,
        entry_lines.entity_id,
        entry_lines.account_code,
        accounts.account_name,
        entry_lines.currency,
        cast(0 as bigint) as amount_minor,
        entry_lines.functional_currency,
        entry_lines.fx_rate,
        cast(entry_lines.functional_amount_minor as bigint) as functional_amount_minor,
        'revaluation' as fx_line_kind,
        true as is_fx_difference,
        'Unrealized FX revaluation of ' || upper(entry_lines.currency) || ' balances at '
            || {{ format_date('entry_lines.accounting_date', '%Y-%m-%d') }} as memo,
        entry_lines.accounting_date,
        entry_lines.period
    from (
        select {{ entry_line_columns }} from account_lines
        union all
        select {{ entry_line_columns }} from offset_lines
    ) as entry_lines
    left join accounts
        on entry_lines.account_code = accounts.account_code

),

served_revaluations as (

    select {{ fx_line_columns() }} from computed_revaluations
    union all
    select {{ fx_line_columns() }} from frozen
    where fx_line_kind = 'revaluation'

),

computed_reversals as (

    select
        journal_entry_id || '-REVERSAL-' || account_code as journal_line_id,
        journal_entry_id || '-REVERSAL' as journal_entry_id,
        journal_entry_id || '-REVERSAL' as external_id,
        entity_id,
        account_code,
        account_name,
        currency,
        amount_minor,
        functional_currency,
        fx_rate,
        -functional_amount_minor as functional_amount_minor,
        'revaluation_reversal' as fx_line_kind,
        true as is_fx_difference,
        'Reversal of ' || journal_entry_id || ' of ' || {{ format_date('accounting_date', '%Y-%m-%d') }} as memo,
        cast(accounting_date + interval 1 day as date) as accounting_date,
        {{ format_date('accounting_date + interval 1 day', '%Y-%m') }} as period
    from served_revaluations

),

final as (

    select {{ fx_line_columns() }} from served_revaluations
    union all
    select {{ fx_line_columns() }} from computed_reversals
    where period not in (select period from locks)
    union all
    select {{ fx_line_columns() }} from frozen
    where fx_line_kind = 'revaluation_reversal'

)

select * from final
