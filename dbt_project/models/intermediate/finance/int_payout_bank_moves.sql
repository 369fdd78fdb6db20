-- When a payout's money reaches the bank (cash in transit -> bank) and, for a payout that failed
-- after it arrived, when the bank returned it (bank -> cash in transit).
-- The arrival uses the bank match's booking date when the payout is matched, else its arrival date
-- once Stripe reports it paid. A payout that failed before arriving never reaches the bank: its
-- `payout_failure` balance transaction alone reverses the move out of Stripe clearing.

with

payouts as (

    select * from {{ ref('stg_stripe__payouts') }}

),

bank_matches as (

    select payout_id, min(bank_booking_date) as bank_booking_date
    from {{ ref('fct_payout_bank_matches') }}
    group by payout_id

),

failures as (

    select balance_transaction_id, accounting_date
    from {{ ref('int_balance_transactions_mapped') }}

),

settled as (

    select
        payouts.payout_id,
        payouts.currency,
        payouts.amount_minor,
        coalesce(bank_matches.bank_booking_date, payouts.arrival_date) as arrived_on,
        bank_matches.payout_id is not null as is_bank_matched,
        failures.accounting_date as failed_on
    from payouts
    left join bank_matches
        on payouts.payout_id = bank_matches.payout_id
    left join failures
        on payouts.failure_balance_transaction_id = failures.balance_transaction_id
    where bank_matches.payout_id is not null
        or payouts.payout_status = 'paid'
        or (payouts.payout_status = 'failed' and failures.accounting_date >= payouts.arrival_date)

),

arrivals as (

    select
        'payout_arrival' as source_kind,
        payout_id,
        currency,
        arrived_on as accounting_date,
        amount_minor,
        is_bank_matched
    from settled

),

returns as (

    select
        'payout_return' as source_kind,
        payout_id,
        currency,
        failed_on as accounting_date,
        -amount_minor as amount_minor,
        is_bank_matched
    from settled
    where failed_on is not null

),

final as (

    select * from arrivals
    union all
    select * from returns

)

select * from final
