-- Confident payout-to-bank matches: one row per (payout, bank line) pair, for payouts whose money
-- stayed at the bank. A payout that failed has its match undone here (its credit and the return
-- debit pair up in fct_payout_bank_returns). `amount_minor` is the part of the payout the line
-- covers, so the rows of a payout sum to its amount; `booking_date` is the bank's posting date.

with

candidates as (

    select * from {{ ref('int_bank_payout_candidates') }}

),

lines as (

    select * from {{ ref('int_bank_statement_lines_deduplicated') }}

),

final as (

    select
        candidates.payout_id,
        candidates.bank_statement_line_id,
        candidates.booking_date,
        lines.value_date,
        candidates.currency,
        candidates.amount_minor,
        candidates.difference_minor,
        candidates.match_rule,
        candidates.priority as match_priority,
        candidates.confidence,
        candidates.payout_status,
        candidates.arrival_date,
        lines.bank_account_id,
        lines.bank_reference,
        lines.file_name,
        lines.file_line
    from candidates
    inner join lines
        on candidates.bank_statement_line_id = lines.bank_statement_line_id
    where candidates.candidate_status = 'matched'
        and candidates.match_kind = 'deposit'
        and candidates.payout_status <> 'failed'

)

select * from final
