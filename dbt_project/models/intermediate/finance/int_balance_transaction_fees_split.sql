-- The parts of balance transactions' fees that `fee_details` assign to something other than
-- Stripe's own fee: application fees, tax, and any newer kind, one row per transaction and kind,
-- with the account configured for the kind (seeds/gl_fee_accounts.csv; null books it with the
-- transaction's Stripe-fee account).
--
-- The Stripe-fee line of a transaction is then simply `fee` less these parts: Stripe-fee details
-- and whatever the details leave unexplained both book to the Stripe-fee account, so they never
-- need reading, and most transactions (Stripe fees only) have no row here at all. Grouping ten
-- million fee details by transaction would be a large share of the ledger's work.

with

fee_details as (

    select * from {{ ref('stg_stripe__fee_details') }}
    where fee_type <> 'stripe_fee'

),

fee_accounts as (

    select * from {{ ref('gl_fee_accounts') }}

),

final as (

    select
        fee_details.balance_transaction_id,
        fee_details.fee_type,
        any_value(fee_accounts.account_code) as account_code,
        cast(sum(fee_details.amount_minor) as bigint) as amount_minor
    from fee_details
    left join fee_accounts
        on fee_details.fee_type = fee_accounts.fee_type
    group by fee_details.balance_transaction_id, fee_details.fee_type

)

select * from final
