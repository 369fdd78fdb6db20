{{ config(meta={'dagster': {'ref': {'name': 'stg_stripe__balance_transactions'}}, 'description': 'Every Stripe account has an entity. Each Stripe account in the data is a row of the entities seed, so its money books to a company. When it fails: add the account (stripe_account_id) to dbt_project/seeds/entities.csv, then run the ledger again.'}) }}
-- Configuration: every Stripe account in the raw data is an entity (seed `entities`,
-- `stripe_account_id`). An account missing there fails the build before anything is booked,
-- rather than booking another company's money to a guessed entity. Returns each unknown account,
-- the table it appears in and how many records it has: add it to the seed.

with

unknown_accounts as (

    select stripe_account_id, 'balance_transactions' as found_in, count(*) as records
    from {{ ref('stg_stripe__balance_transactions') }}
    where entity_id is null
    group by stripe_account_id

    union all

    select stripe_account_id, 'payouts' as found_in, count(*) as records
    from {{ ref('stg_stripe__payouts') }}
    where entity_id is null
    group by stripe_account_id

    union all

    select stripe_account_id, 'balance_snapshots' as found_in, count(*) as records
    from {{ ref('stg_stripe__balance_snapshots') }}
    where entity_id is null
    group by stripe_account_id

)

select * from unknown_accounts
