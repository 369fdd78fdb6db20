{{ config(meta={'dagster': {'ref': {'name': 'rpt_stripe_balance_rollforward'}}, 'description': 'Stripe balance rolls forward. Per Stripe account and currency: opening + activity - payouts = closing every month, equal to Stripe\'s balance. When it fails: the rows name account, currency and month; ingest that month again (late transactions), then compare with Stripe\'s balance summary report.'}) }}
-- Proof 3, per Stripe account and currency (Stripe reports each account's balance on its own):
-- starting + activity - payouts = ending in every month, each month starts where the last ended,
-- and the balance the transactions add up to at the time of Stripe's balance snapshot equals the
-- snapshot (available + pending). Returns the currency, the account, the month or snapshot time
-- and the numbers.
-- A snapshot is Stripe's balance at the moment it was read (`as_of_at`); ingestion records one only
-- when the transactions landed reach that moment, so the latest one is always provable.

with

rollforward as (

    select
        stripe_account_id,
        currency,
        period,
        sum(case when category = 'starting_balance' then net_amount_minor end) as starting_minor,
        sum(case when category = 'activity' then net_amount_minor end) as activity_minor,
        sum(case when category = 'payouts' then net_amount_minor end) as payouts_minor,
        sum(case when category = 'ending_balance' then net_amount_minor end) as ending_minor
    from {{ ref('rpt_stripe_balance_rollforward') }}
    group by all

),

broken_months as (

    select
        currency,
        stripe_account_id,
        period,
        'starting + activity + payouts <> ending, or the month does not start at the last ending' as problem,
        starting_minor + activity_minor + payouts_minor as computed_minor,
        ending_minor as reported_minor,
        starting_minor + activity_minor + payouts_minor - ending_minor as difference_minor
    from (
        select *, lag(ending_minor) over (partition by stripe_account_id, currency order by period) as previous_ending_minor
        from rollforward
    )
    where starting_minor + activity_minor + payouts_minor <> ending_minor
        or starting_minor <> coalesce(previous_ending_minor, 0)

),

snapshots as (

    select * from {{ ref('stg_stripe__balance_snapshots') }}
    qualify row_number() over (partition by stripe_account_id, currency order by as_of_at desc) = 1

),

balances_at_snapshot as (

    select
        snapshots.currency,
        snapshots.stripe_account_id,
        {{ format_date('snapshots.as_of_at', '%Y-%m-%d %H:%M:%S') }} as period,
        'transactions up to the snapshot <> Stripe balance snapshot' as problem,
        coalesce(transactions.balance_minor, 0) as computed_minor,
        snapshots.balance_minor as reported_minor,
        coalesce(transactions.balance_minor, 0) - snapshots.balance_minor as difference_minor
    from snapshots
    left join (
        select s.stripe_account_id, stg.currency, sum(stg.net_minor) as balance_minor
        from {{ ref('stg_stripe__balance_transactions') }} as stg
        inner join snapshots as s
            on stg.currency = s.currency
            and stg.stripe_account_id is not distinct from s.stripe_account_id
            and stg.created_at <= s.as_of_at
        group by s.stripe_account_id, stg.currency
    ) as transactions
        on snapshots.currency = transactions.currency
        and snapshots.stripe_account_id is not distinct from transactions.stripe_account_id
    where coalesce(transactions.balance_minor, 0) <> snapshots.balance_minor

)

select * from broken_months
union all
select * from balances_at_snapshot
