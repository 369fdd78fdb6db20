-- When a payout's money reaches the bank (cash in transit -> bank) and, for a payout that failed
-- after it arrived, when the bank returned it (bank -> cash in transit).
-- A payout matched to the bank statement (fct_payout_bank_matches) arrives on the bank's booking
-- dates, split across the deposits that hold it; an unmatched payout arrives on its arrival date
-- once Stripe reports it paid. A payout that failed before arriving never reaches the bank: its
-- `payout_failure` balance transaction alone reverses the move out of Stripe clearing. Matching
-- never matches a failed payout (its deposit pairs with the return debit instead).

with

payouts as (

    select * from {{ ref('stg_stripe__payouts') }}

),

bank_matches as (

    select
        payout_id,
        booking_date,
        cast(sum(amount_minor) as bigint) as amount_minor
    from {{ ref('fct_payout_bank_matches') }}
    group by payout_id, booking_date

),

-- The payouts' failure transactions only: dating every transaction to find a few would cost a
-- full pass over them.
failures as (

    select
        transactions.balance_transaction_id,
        {{ accounting_date('transactions.created_at') }} as accounting_date
    from {{ ref('stg_stripe__balance_transactions') }} as transactions
    semi join payouts
        on transactions.balance_transaction_id = payouts.failure_balance_transaction_id

),

matched_arrivals as (

    select
        'payout_arrival' as source_kind,
        payouts.payout_id,
        payouts.currency,
        bank_matches.booking_date as accounting_date,
        bank_matches.amount_minor,
        true as is_bank_matched
    from payouts
    inner join bank_matches
        on payouts.payout_id = bank_matches.payout_id

),

unmatched as (

    select
        payouts.payout_id,
        payouts.currency,
        payouts.amount_minor,
        payouts.arrival_date,
        failures.accounting_date as failed_on
    from payouts
    left join failures
        on payouts.failure_balance_transaction_id = failures.balance_transaction_id
    where payouts.payout_id not in (select payout_id from bank_matches)
        and (
            payouts.payout_status = 'paid'
            or (payouts.payout_status = 'failed' and failures.accounting_date >= payouts.arrival_date)
        )

),

unmatched_arrivals as (

    select
        'payout_arrival' as source_kind,
        payout_id,
        currency,
        arrival_date as accounting_date,
        amount_minor,
        false as is_bank_matched
    from unmatched

),

returns as (

    select
        'payout_return' as source_kind,
        payout_id,
        currency,
        failed_on as accounting_date,
        -amount_minor as amount_minor,
        false as is_bank_matched
    from unmatched
    where failed_on is not null

),

final as (

    select * from matched_arrivals
    union all
    select * from unmatched_arrivals
    union all
    select * from returns

)

select * from final
