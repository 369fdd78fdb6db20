-- The journal in each entity's functional currency. A line in another currency is translated at
-- the latest rate on or before its accounting date (seeds/fx_rates.csv); rounding each line to the
-- functional currency's minor unit can leave an entry a few units off balance, and that difference
-- books to FX gain/loss so every translated entry balances. Lines already in the functional
-- currency keep their amount. Exact decimal arithmetic, never float.

with

journal_lines as (

    select * from {{ ref('fct_journal_lines') }}

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
    asof left join rates
        on lines_with_currency.currency = rates.currency
        and lines_with_currency.functional_currency = rates.functional_currency
        and lines_with_currency.accounting_date >= rates.rate_date

),

translated as (

    select
        rated.journal_line_id,
        rated.journal_entry_id,
        rated.entity_id,
        rated.account_code,
        rated.currency,
        rated.amount_minor,
        rated.functional_currency,
        rated.fx_rate,
        cast(round(
            cast(rated.amount_minor as decimal(38, 0)) * rated.fx_rate
            * cast(pow(10, coalesce(functional.exponent, 2) - coalesce(transactional.exponent, 2)) as decimal(38, 6))
        ) as bigint) as functional_amount_minor,
        false as is_fx_difference,
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
        journal_entry_id || '-' || {{ control_account('fx_gain_loss') }} || '-FX' as journal_line_id,
        journal_entry_id,
        entity_id,
        {{ control_account('fx_gain_loss') }} as account_code,
        any_value(currency) as currency,
        cast(0 as bigint) as amount_minor,
        any_value(functional_currency) as functional_currency,
        cast(null as decimal(38, 12)) as fx_rate,
        -cast(sum(functional_amount_minor) as bigint) as functional_amount_minor,
        true as is_fx_difference,
        any_value(accounting_date) as accounting_date,
        any_value(period) as period
    from translated
    group by journal_entry_id, entity_id
    having sum(functional_amount_minor) <> 0

)

select * from translated
union all
select * from rounding_differences
