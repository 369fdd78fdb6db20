{{ config(materialized='table') }}

-- Bank matching rule 5, failure_return: a failed payout's return debit, by reference or as the only
-- Stripe-looking debit of its amount, naming no payout, in the window after the failure.

with

return_rule as (

    select * from {{ ref('bank_matching_rules') }}
    where is_enabled and match_rule = 'failure_return'

),

payouts as (

    select * from {{ ref('int_bank_payouts') }}

),

lines as (

    select * from {{ ref('int_bank_statement_lines_deduplicated') }}

),

references_named as (

    select * from {{ ref('int_bank_payout_references') }}

),

return_pairs as (

    -- named by a reference
    select
        references_named.payout_key,
        references_named.line_key,
        payouts.amount_minor as payout_amount_minor,
        lines.signed_amount_minor as line_amount_minor
    from references_named
    inner join payouts
        on references_named.payout_key = payouts.payout_key
    inner join lines
        on references_named.line_key = lines.line_key
    cross join return_rule
    where references_named.match_kind = 'return'
        and payouts.payout_status = 'failed'
        and lines.booking_business_day between payouts.failure_business_day - return_rule.business_days_before
            and payouts.failure_business_day + return_rule.business_days_after
        and abs(lines.signed_amount_minor + payouts.amount_minor) <= return_rule.amount_tolerance_minor
    union
    -- or the only Stripe-looking line of the opposite amount, naming no payout
    select
        payouts.payout_key,
        lines.line_key,
        payouts.amount_minor as payout_amount_minor,
        lines.signed_amount_minor as line_amount_minor
    from payouts
    cross join return_rule
    inner join lines
        on payouts.currency = lines.currency
        and -payouts.amount_minor = lines.signed_amount_minor
    where payouts.payout_status = 'failed'
        and lines.is_stripe_like
        and lines.line_key not in (select line_key from references_named)
        and lines.booking_business_day between payouts.failure_business_day - return_rule.business_days_before
            and payouts.failure_business_day + return_rule.business_days_after

),

return_outcomes as (

    select
        payout_key,
        line_key,
        'return' as match_kind,
        'failure_return' as match_rule,
        (select priority from return_rule) as priority,
        case
            when count(*) over (partition by payout_key) = 1
                and count(*) over (partition by line_key) = 1 then 'matched'
            else 'ambiguous'
        end as candidate_status,
        payout_amount_minor as amount_minor,
        line_amount_minor + payout_amount_minor as difference_minor
    from return_pairs

)

select * from return_outcomes
