{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'int_refund_stripe_tax_reversals'}}, 'description': 'Every Stripe Tax reversal a refund names is its charge\'s (warning). Lists each refund whose metadata names a tax transaction (`tax_transaction`) the reversal rule cannot use: not landed, not a reversal, or a reversal of another transaction than its charge\'s. Such a refund takes its charge\'s tax back pro rata, which may differ from what Stripe Tax reports by a minor unit per refund; it never blocks. When it fails: correct the refund\'s metadata in Stripe (or ingest the reversal), then run the ledger again.'}) }}
-- Warning: refunds that name a Stripe Tax reversal the ledger cannot book them by. The reversal rule
-- (int_refund_stripe_tax_reversals) only takes a reversal of the very transaction the refund's
-- charge names; any other id leaves the refund pro rata. Saying so keeps a mistyped or foreign id
-- in the merchant's metadata from changing the tax booked without a word. One row per refund.

with

named as (

    select refund_id, charge_id, tax_transaction_id
    from {{ ref('stg_stripe__refunds') }}
    where tax_transaction_id is not null
        and refund_id not in (select refund_id from {{ ref('int_refund_stripe_tax_reversals') }})

),

transactions as (

    select tax_transaction_id, tax_transaction_type, reversed_transaction_id
    from {{ ref('stg_stripe__tax_transactions') }}

),

charge_taxes as (

    select charge_id, tax_transaction_id from {{ ref('int_charge_stripe_taxes') }}

),

final as (

    select
        named.refund_id,
        named.charge_id,
        named.tax_transaction_id,
        'refund ' || named.refund_id || ' names Stripe Tax transaction ' || named.tax_transaction_id || ', '
        || case
            when transactions.tax_transaction_id is null
                then 'which is not landed (Stripe does not know it, or ingestion has not read it)'
            when transactions.tax_transaction_type <> 'reversal'
                then 'which is a ' || coalesce(transactions.tax_transaction_type, 'transaction of no type') || ', not a reversal'
            when charge_taxes.tax_transaction_id is null
                then 'a reversal of ' || coalesce(transactions.reversed_transaction_id, 'no transaction') || ', but its charge '
                    || coalesce(named.charge_id, '(none)') || ' names no Stripe Tax transaction'
            else 'a reversal of ' || coalesce(transactions.reversed_transaction_id, 'no transaction') || ', not of its charge '
                || named.charge_id || '''s ' || charge_taxes.tax_transaction_id
        end
        || ': the refund is booked pro rata of its charge''s sale instead' as reason
    from named
    left join transactions
        on named.tax_transaction_id = transactions.tax_transaction_id
    left join charge_taxes
        on named.charge_id = charge_taxes.charge_id

)

select * from final
