-- Stripe's `balance.summary.1`, per Stripe account, currency and month: starting balance, activity,
-- payouts and ending balance, in minor units and as the major-unit text of Stripe's CSV. Stripe
-- reports each account's balance on its own, so each account rolls forward on its own; `entity_id`
-- is the entity that books the account (seed `entities`).
-- Clocks as Stripe's report uses them: activity by `created`, payouts (and their reversals) by
-- `available_on`, the date paid-out funds leave the balance; months in the reporting time zone.
-- `payouts` is the balance impact (negative), so starting + activity + payouts = ending.

with

transactions as (

    select * from {{ ref('stg_stripe__balance_transactions') }}

),

exponents as (

    select * from {{ ref('currency_exponents') }}

),

-- Months as dates, formatted once per month below: formatting ten million dates as text would cost
-- more than the rest of the report.
dated as (

    select
        stripe_account_id,
        entity_id,
        currency,
        case when reporting_category in ('payout', 'payout_reversal') then 'payouts' else 'activity' end as category,
        date_trunc('month', case
            when reporting_category in ('payout', 'payout_reversal') then {{ accounting_date('available_at') }}
            else {{ accounting_date('created_at') }}
        end) as month_start,
        net_minor
    from transactions

),

movements as (

    select
        stripe_account_id,
        entity_id,
        currency,
        {{ format_date('month_start', '%Y-%m') }} as period,
        cast(sum(case when category = 'activity' then net_minor else 0 end) as bigint) as activity_minor,
        cast(sum(case when category = 'payouts' then net_minor else 0 end) as bigint) as payouts_minor
    from dated
    group by stripe_account_id, entity_id, currency, month_start

),

-- Every month between the account's first and last in the currency, so a quiet month still carries its balance.
periods as (

    select
        currencies.stripe_account_id,
        currencies.entity_id,
        currencies.currency,
        {{ format_date('currencies.month_start', '%Y-%m') }} as period
    from (
        select
            stripe_account_id,
            entity_id,
            currency,
            {{ unnest_as(month_list("cast(first_period || '-01' as date)", "cast(last_period || '-01' as date)"), 'month_start') }}
        from (
            select stripe_account_id, entity_id, currency, min(period) as first_period, max(period) as last_period
            from movements
            group by all
        )
    ) as currencies

),

balances as (

    select
        periods.stripe_account_id,
        periods.entity_id,
        periods.currency,
        periods.period,
        coalesce(movements.activity_minor, 0) as activity_minor,
        coalesce(movements.payouts_minor, 0) as payouts_minor,
        cast(coalesce(sum(coalesce(movements.activity_minor, 0) + coalesce(movements.payouts_minor, 0)) over (
            partition by periods.stripe_account_id, periods.currency order by periods.period
            rows between unbounded preceding and 1 preceding
        ), 0) as bigint) as starting_minor
    from periods
    left join movements
        -- Rows landed before they carried an account have none: null is that account.
        on periods.stripe_account_id is not distinct from movements.stripe_account_id
        and periods.currency = movements.currency
        and periods.period = movements.period

),

unpivoted as (

    select stripe_account_id, entity_id, currency, period, 1 as row_order, 'starting_balance' as category,
        'Starting balance (' || period || '-01)' as description, starting_minor as net_amount_minor
    from balances
    union all
    select stripe_account_id, entity_id, currency, period, 2, 'activity', 'Activity', activity_minor
    from balances
    union all
    select stripe_account_id, entity_id, currency, period, 3, 'payouts', 'Total payouts', payouts_minor
    from balances
    union all
    select stripe_account_id, entity_id, currency, period, 4, 'ending_balance',
        'Ending balance (' || {{ format_date("last_day(cast(period || '-01' as date))", '%Y-%m-%d') }} || ')',
        starting_minor + activity_minor + payouts_minor
    from balances

)

select
    unpivoted.stripe_account_id,
    unpivoted.entity_id,
    unpivoted.period,
    unpivoted.row_order,
    unpivoted.category,
    unpivoted.description,
    unpivoted.currency,
    cast(unpivoted.net_amount_minor as bigint) as net_amount_minor,
    {{ format_major('unpivoted.net_amount_minor', 'coalesce(exponents.exponent, 2)') }} as net_amount
from unpivoted
left join exponents
    on unpivoted.currency = exponents.currency
