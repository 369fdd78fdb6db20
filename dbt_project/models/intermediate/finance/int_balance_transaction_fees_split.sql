-- Each balance transaction's `fee`, split by its `fee_details` into the accounts of the components:
-- Stripe fee (the category's fee account, so a dispute fee books apart from processing fees),
-- application fee and tax. Whatever the details do not explain (no details, or details that do not
-- add up to `fee`) books as a Stripe fee, so a transaction always balances.

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

components as (

    select
        transactions.balance_transaction_id,
        fee_details.fee_type,
        fee_details.fee_position,
        case
            when fee_details.fee_type = 'stripe_fee' then transactions.stripe_fee_account_code
            else coalesce(fee_accounts.account_code, transactions.stripe_fee_account_code)
        end as account_code,
        fee_details.amount_minor
    from transactions
    inner join fee_details
        on transactions.balance_transaction_id = fee_details.balance_transaction_id
    left join fee_accounts
        on fee_details.fee_type = fee_accounts.fee_type

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
        -1 as fee_position,
        transactions.stripe_fee_account_code as account_code,
        transactions.fee_minor - coalesce(explained.explained_minor, 0) as amount_minor
    from transactions
    left join explained
        on transactions.balance_transaction_id = explained.balance_transaction_id
    where transactions.fee_minor <> coalesce(explained.explained_minor, 0)

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
