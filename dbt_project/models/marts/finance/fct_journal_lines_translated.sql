-- The journal in each entity's functional currency. A line in another currency is translated at
-- the latest rate on or before its accounting date (seeds/fx_rates.csv); rounding each line to the
-- functional currency's minor unit can leave an entry a few units off balance, and that difference
-- books to FX gain/loss so every translated entry balances. Lines already in the functional
-- currency keep their amount. Exact decimal arithmetic, never float (macro to_functional_minor).
-- A locked period is served from its frozen translation, so a rate edited later cannot change it.
-- Period-end revaluation is fct_fx_revaluation_lines.

with

frozen as (

    select {{ star_except(['locked_period']) }}
    from {{ ref('stg_close__locked_journal_lines_translated') }}

),

journal_lines as (

    select * from {{ ref('fct_journal_lines') }}
    where period not in (select period from frozen)

),

entities as (

    select * from {{ ref('entities') }}

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

lines_with_currency as (

    select
        journal_lines.*,
        entities.functional_currency
    from journal_lines
    inner join entities
        on journal_lines.entity_id = entities.entity_id

),

rated as (

    select
        lines_with_currency.*,
        case
            when lines_with_currency.currency = lines_with_currency.functional_currency then cast(1 as decimal(38, 12))
            else rates.rate
        end as fx_rate
    from lines_with_currency
    {{ asof_join('left', 'lines_with_currency', 'rates', 'rates', ['currency', 'functional_currency'], 'lines_with_currency.accounting_date', 'rate_date') }}

),

translated as (

    select
        rated.journal_line_id,
        rated.journal_entry_id,
        rated.external_id,
        rated.entity_id,
        rated.account_code,
        rated.account_name,
        rated.currency,
        rated.amount_minor,
        rated.functional_currency,
        rated.fx_rate,
        {{ to_functional_minor('rated.amount_minor', 'rated.fx_rate', 'transactional.exponent', 'functional.exponent') }}
            as functional_amount_minor,
        'translation' as fx_line_kind,
        false as is_fx_difference,
        rated.memo,
        rated.accounting_date,
        rated.period
    from rated
    left join exponents as functional
        on rated.functional_currency = functional.currency
    left join exponents as transactional
        on rated.currency = transactional.currency

),

rounding_differences as (

    select
        translated.journal_entry_id || '-' || {{ control_account('fx_gain_loss') }} || '-FX' as journal_line_id,
        translated.journal_entry_id,
        any_value(translated.external_id) as external_id,
        translated.entity_id,
        {{ control_account('fx_gain_loss') }} as account_code,
        (select account_name from accounts where account_code = {{ control_account('fx_gain_loss') }}) as account_name,
        any_value(translated.currency) as currency,
        cast(0 as bigint) as amount_minor,
        any_value(translated.functional_currency) as functional_currency,
        any_value(translated.fx_rate) as fx_rate,
        -cast(sum(translated.functional_amount_minor) as bigint) as functional_amount_minor,
        'rounding' as fx_line_kind,
        true as is_fx_difference,
        any_value(translated.memo) as memo,
        any_value(translated.accounting_date) as accounting_date,
        any_value(translated.period) as period
    from translated
    group by translated.journal_entry_id, translated.entity_id
    having sum(translated.functional_amount_minor) <> 0

),

final as (

    select {{ fx_line_columns() }} from frozen
    union all
    select {{ fx_line_columns() }} from translated
    union all
    select {{ fx_line_columns() }} from rounding_differences

)

select * from final
