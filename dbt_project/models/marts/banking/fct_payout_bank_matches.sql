-- Confident payout-to-bank matches: one row per (payout, bank line) pair, for payouts whose money
-- stayed at the bank. A payout that failed has its match undone here (its credit and the return
-- debit pair up in fct_payout_bank_returns). `amount_minor` is the part of the payout the line
-- covers, so the rows of a payout sum to its amount; `booking_date` is the bank's posting date.

with

candidates as (

    select * from {{ ref('int_bank_payout_candidates') }}

),

final as (

    select
        payout_id,
        bank_statement_line_id,
        stripe_account_id,
        entity_id,
        booking_date,
        value_date,
        currency,
        amount_minor,
        difference_minor,
        match_rule,
        priority as match_priority,
        confidence,
        payout_status,
        arrival_date,
        bank_account_id,
        bank_reference,
        file_name,
        file_line
    from candidates
    where candidate_status = 'matched'
        and match_kind = 'deposit'
        and payout_status <> 'failed'

)

select * from final
