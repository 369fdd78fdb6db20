-- Failed payouts whose money reached the bank and came back: the deposit that was matched (and is
-- undone in fct_payout_bank_matches) beside the return debit paired with the failure.

with

candidates as (

    select * from {{ ref('int_bank_payout_candidates') }}
    where candidate_status = 'matched' and payout_status = 'failed'

),

deposits as (

    select
        payout_id,
        {{ ordered_list_agg('bank_statement_line_id', struct_of([('booking_date', 'booking_date'), ('bank_statement_line_id', 'bank_statement_line_id')])) }}
            as deposit_line_ids,
        min(booking_date) as deposit_booking_date,
        min(match_rule) as deposit_match_rule
    from candidates
    where match_kind = 'deposit'
    group by payout_id

),

returns as (

    select * from candidates where match_kind = 'return'

),

final as (

    select
        returns.payout_id,
        returns.stripe_account_id,
        returns.entity_id,
        returns.currency,
        returns.amount_minor,
        deposits.deposit_line_ids,
        deposits.deposit_booking_date,
        deposits.deposit_match_rule,
        returns.bank_statement_line_id as return_line_id,
        returns.booking_date as return_booking_date,
        returns.confidence
    from returns
    left join deposits
        on returns.payout_id = deposits.payout_id

)

select * from final
