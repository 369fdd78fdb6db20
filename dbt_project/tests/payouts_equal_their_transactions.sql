{{ config(meta={'dagster': {'ref': {'name': 'stg_stripe__payout_transactions'}}, 'description': 'Payouts equal their transactions. Each automatic payout\'s amount equals the net of the Stripe transactions it settled. When it fails: the rows name the payout and the difference; ingest again for its days (a transaction Stripe showed late), and if it persists compare with Stripe\'s payout reconciliation report.'}) }}
-- Proof 4: each reconciled automatic payout's amount equals the net of the transactions it settled
-- (its own payout transaction excluded), its own transaction is exactly minus its amount, and no
-- transaction is settled by two payouts. Returns the payout, the numbers and the culprit.
-- A windowed build proves the payouts whose records landed since the last build
-- (int_journal_rebuild_payouts), and the other payouts' links to their transactions (claimed twice).
-- depends_on: {{ ref('int_journal_rebuild_payouts') }}
{%- set every_payout = execute and run_query("select count(*) from " ~ ref('int_journal_rebuild_payouts') ~ " where payout_id is null").columns[0].values()[0] > 0 %}

with

payouts as (

    select * from {{ ref('stg_stripe__payouts') }}
    {%- if execute and not every_payout %}
    semi join {{ ref('int_journal_rebuild_payouts') }} as proven using (payout_id)
    {%- endif %}
    where is_automatic and reconciliation_status = 'completed'

),

links as (

    select * from {{ ref('stg_stripe__payout_transactions') }}
    {%- if execute and not every_payout %}
    where balance_transaction_id in (
        select balance_transaction_id from {{ ref('stg_stripe__payout_transactions') }}
        semi join {{ ref('int_journal_rebuild_payouts') }} as proven using (payout_id)
    )
    {%- endif %}

),

transactions as (

    select * from {{ ref('stg_stripe__balance_transactions') }}

),

-- Transactions settled by more than one payout (normally none: the join below stays small).
-- Two payouts are a smallest and a largest that differ: one aggregate, where count(distinct)
-- would group ten million links twice.
claimed_twice as (

    select balance_transaction_id
    from links
    group by balance_transaction_id
    having min(payout_id) <> max(payout_id)

),

contents as (

    select
        links.payout_id,
        sum(case when links.balance_transaction_id <> payouts.balance_transaction_id then transactions.net_minor else 0 end) as items_net_minor,
        sum(case when links.balance_transaction_id = payouts.balance_transaction_id then transactions.net_minor else 0 end) as own_net_minor,
        count(*) - count(transactions.balance_transaction_id) as unknown_transactions,
        string_agg(claimed_twice.balance_transaction_id, ', ') as claimed_twice
    from links
    inner join payouts
        on links.payout_id = payouts.payout_id
    left join transactions
        on links.balance_transaction_id = transactions.balance_transaction_id
    left join claimed_twice
        on links.balance_transaction_id = claimed_twice.balance_transaction_id
    group by links.payout_id

)

select
    payouts.payout_id,
    payouts.currency,
    payouts.amount_minor as payout_minor,
    coalesce(contents.items_net_minor, 0) as items_net_minor,
    coalesce(contents.items_net_minor, 0) - payouts.amount_minor as difference_minor,
    contents.own_net_minor,
    contents.unknown_transactions,
    contents.claimed_twice
from payouts
left join contents
    on payouts.payout_id = contents.payout_id
where coalesce(contents.items_net_minor, 0) <> payouts.amount_minor
    or coalesce(contents.own_net_minor, 0) <> -payouts.amount_minor
    or contents.unknown_transactions > 0
    or contents.claimed_twice is not null
