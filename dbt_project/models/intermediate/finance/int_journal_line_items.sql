-- Every debit and credit before summarizing: signed minor units, debit positive.
-- A balance transaction books its gross to its category's account, its fee to fee expense and its
-- net to Stripe clearing (gross - fee - net = 0, so each transaction balances on its own).
-- A paid payout moves from cash in transit to the bank on its arrival date (the bank's clock).

with

transactions as (

    select * from {{ ref('int_balance_transactions_mapped') }}

),

payouts as (

    select * from {{ ref('stg_stripe__payouts') }}

),

gross_lines as (

    select
        'balance_transaction' as source_kind,
        balance_transaction_id as source_id,
        'gross' as line_role,
        accounting_date,
        currency,
        gross_account_code as account_code,
        -amount_minor as amount_minor
    from transactions
    where amount_minor <> 0

),

fee_lines as (

    select
        'balance_transaction' as source_kind,
        balance_transaction_id as source_id,
        'fee' as line_role,
        accounting_date,
        currency,
        fee_account_code as account_code,
        fee_minor as amount_minor
    from transactions
    where fee_minor <> 0

),

clearing_lines as (

    select
        'balance_transaction' as source_kind,
        balance_transaction_id as source_id,
        'stripe_clearing' as line_role,
        accounting_date,
        currency,
        {{ control_account('stripe_clearing') }} as account_code,
        net_minor as amount_minor
    from transactions
    where net_minor <> 0

),

arrived_payouts as (

    select * from payouts where payout_status = 'paid'

),

bank_lines as (

    select
        'payout_arrival' as source_kind,
        payout_id as source_id,
        'bank' as line_role,
        arrival_date as accounting_date,
        currency,
        {{ control_account('bank') }} as account_code,
        amount_minor
    from arrived_payouts

),

in_transit_lines as (

    select
        'payout_arrival' as source_kind,
        payout_id as source_id,
        'cash_in_transit' as line_role,
        arrival_date as accounting_date,
        currency,
        {{ control_account('cash_in_transit') }} as account_code,
        -amount_minor as amount_minor
    from arrived_payouts

),

unioned as (

    select * from gross_lines
    union all
    select * from fee_lines
    union all
    select * from clearing_lines
    union all
    select * from bank_lines
    union all
    select * from in_transit_lines

)

select
    '{{ var("entity_id") }}' as entity_id,
    {{ journal_entry_id("'" ~ var("entity_id") ~ "'", 'accounting_date', 'currency') }} as journal_entry_id,
    *
from unioned
