-- The `fee` of each balance transaction whose `fee_details` hold more than Stripe's own fee, split
-- into the accounts of the components: Stripe fee (the category's fee account, so a dispute fee
-- books apart from processing fees), application fee and tax. Whatever the details do not explain
-- (details that do not add up to `fee`) books as a Stripe fee, so a transaction always balances.
--
-- Only these transactions need the split: when every detail is a Stripe fee (or there are none),
-- the parts and the unexplained rest all book to the Stripe-fee account as one `stripe_fee` line
-- of exactly `fee`, which int_journal_source_records writes without reading the details. Grouping
-- ten million fee details by transaction to learn that would be most of the ledger's work.

with

transactions as (

    select * from {{ ref('int_balance_transactions_mapped') }}
    where fee_minor <> 0

),

fee_details as (

    select * from {{ ref('stg_stripe__fee_details') }}

),

fee_accounts as (

    select * from {{ ref('gl_fee_accounts') }}

),

split_transactions as (

    select distinct balance_transaction_id
    from fee_details
    where fee_type <> 'stripe_fee'

),

split_details as (

    select fee_details.*
    from fee_details
    semi join split_transactions
        on fee_details.balance_transaction_id = split_transactions.balance_transaction_id

),

components as (

    select
        transactions.balance_transaction_id,
        split_details.fee_type,
        case
            when split_details.fee_type = 'stripe_fee' then transactions.stripe_fee_account_code
            else coalesce(fee_accounts.account_code, transactions.stripe_fee_account_code)
        end as account_code,
        split_details.amount_minor
    from transactions
    inner join split_details
        on transactions.balance_transaction_id = split_details.balance_transaction_id
    left join fee_accounts
        on split_details.fee_type = fee_accounts.fee_type

),

explained as (

    select balance_transaction_id, sum(amount_minor) as explained_minor
    from components
    group by balance_transaction_id

),

remainders as (

    select
        transactions.balance_transaction_id,
        'stripe_fee' as fee_type,
        transactions.stripe_fee_account_code as account_code,
        transactions.fee_minor - explained.explained_minor as amount_minor
    from transactions
    inner join explained
        on transactions.balance_transaction_id = explained.balance_transaction_id
    where transactions.fee_minor <> explained.explained_minor

),

unioned as (

    select * from components
    union all
    select * from remainders

),

-- One row per transaction, fee type and account: the grain of a journal source line.
final as (

    select
        balance_transaction_id,
        fee_type,
        account_code,
        cast(sum(amount_minor) as bigint) as amount_minor
    from unioned
    group by all

)

select * from final
