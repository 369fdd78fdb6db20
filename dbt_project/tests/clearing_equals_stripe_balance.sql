{{ config(meta={'dagster': {'ref': {'name': 'fct_journal_lines'}}, 'description': 'Stripe clearing = Stripe balance. The Stripe-clearing GL account equals Stripe\'s own balance, and cash in transit equals the payouts not yet at the bank. When it fails: the rows name entity, currency and difference; ingest again up to now, and report it if it persists.'}) }}
-- Proof 5, per entity and currency: the Stripe-clearing GL balance equals Stripe's balance snapshot (less any
-- transactions created after the snapshot), and cash in transit equals the payouts that left
-- Stripe and have not reached the bank. Returns the account, currency and both numbers.
-- Stripe clearing is compared only for entities whose Stripe account has a snapshot (a read of its
-- whole balance: a currency missing from it held nothing). Without one there is nothing to compare
-- with, not a balance of zero: snapshot_covers_ledger warns about those.

with

journal_lines as (

    select * from {{ ref('fct_journal_lines') }}

),

snapshots as (

    select * from {{ ref('stg_stripe__balance_snapshots') }}
    qualify row_number() over (partition by stripe_account_id, currency order by as_of_at desc) = 1

),

covered_entities as (

    select distinct entity_id from snapshots

),

after_snapshot as (

    select snapshots.entity_id, transactions.currency, sum(transactions.net_minor) as net_minor
    from {{ ref('stg_stripe__balance_transactions') }} as transactions
    inner join snapshots
        on transactions.currency = snapshots.currency
        and transactions.entity_id = snapshots.entity_id
        and transactions.created_at > snapshots.as_of_at
    group by snapshots.entity_id, transactions.currency

),

clearing as (

    select entity_id, currency, sum(amount_minor) as balance_minor
    from journal_lines
    where account_code = {{ control_account('stripe_clearing') }}
    group by entity_id, currency

),

in_transit_ledger as (

    select entity_id, currency, sum(amount_minor) as balance_minor
    from journal_lines
    where account_code = {{ control_account('cash_in_transit') }}
    group by entity_id, currency

),

-- Payouts whose money left Stripe and has neither reached the bank nor come back.
in_transit_payouts as (

    select payouts.entity_id, payouts.currency, sum(payouts.amount_minor) as amount_minor
    from {{ ref('stg_stripe__payouts') }} as payouts
    inner join {{ ref('stg_stripe__balance_transactions') }} as payout_transactions
        on payouts.balance_transaction_id = payout_transactions.balance_transaction_id
    left join {{ ref('int_payout_bank_moves') }} as bank_moves
        on payouts.payout_id = bank_moves.payout_id
        and bank_moves.source_kind = 'payout_arrival'
    left join {{ ref('stg_stripe__balance_transactions') }} as failures
        on payouts.failure_balance_transaction_id = failures.balance_transaction_id
    where bank_moves.payout_id is null
        and failures.balance_transaction_id is null
    group by payouts.entity_id, payouts.currency

),

clearing_differences as (

    select
        {{ control_account('stripe_clearing') }} as account_code,
        coalesce(snapshots.entity_id, clearing.entity_id) as entity_id,
        coalesce(snapshots.currency, clearing.currency) as currency,
        coalesce(clearing.balance_minor, 0) - coalesce(after_snapshot.net_minor, 0) as ledger_minor,
        snapshots.balance_minor as stripe_minor,
        coalesce(clearing.balance_minor, 0) - coalesce(after_snapshot.net_minor, 0) - coalesce(snapshots.balance_minor, 0) as difference_minor
    from snapshots
    full outer join clearing
        on snapshots.currency = clearing.currency
        and snapshots.entity_id = clearing.entity_id
    left join after_snapshot
        on coalesce(snapshots.currency, clearing.currency) = after_snapshot.currency
        and coalesce(snapshots.entity_id, clearing.entity_id) = after_snapshot.entity_id
    where coalesce(snapshots.entity_id, clearing.entity_id) in (select entity_id from covered_entities)
        and coalesce(clearing.balance_minor, 0) - coalesce(after_snapshot.net_minor, 0) <> coalesce(snapshots.balance_minor, 0)

),

in_transit_differences as (

    select
        {{ control_account('cash_in_transit') }} as account_code,
        coalesce(in_transit_ledger.entity_id, in_transit_payouts.entity_id) as entity_id,
        coalesce(in_transit_ledger.currency, in_transit_payouts.currency) as currency,
        coalesce(in_transit_ledger.balance_minor, 0) as ledger_minor,
        coalesce(in_transit_payouts.amount_minor, 0) as stripe_minor,
        coalesce(in_transit_ledger.balance_minor, 0) - coalesce(in_transit_payouts.amount_minor, 0) as difference_minor
    from in_transit_ledger
    full outer join in_transit_payouts
        on in_transit_ledger.currency = in_transit_payouts.currency
        and in_transit_ledger.entity_id = in_transit_payouts.entity_id
    where coalesce(in_transit_ledger.balance_minor, 0) <> coalesce(in_transit_payouts.amount_minor, 0)

)

select * from clearing_differences
union all
select * from in_transit_differences
