{{ config(materialized='table') }}

-- Bank matching rule 2, amount_descriptor: one open Stripe-looking line of an open payout's amount
-- (+- tolerance) and currency within the business-day window around its arrival. Judged against
-- rules 3 and 4 in int_bank_payout_candidates.

with

amount_rule as (

    select * from {{ ref('bank_matching_rules') }}
    where is_enabled and match_rule = 'amount_descriptor'

),

open_payouts as (

    select * from {{ ref('int_bank_open_payouts') }}

),

open_lines as (

    select * from {{ ref('int_bank_open_lines') }}

),

amount_lines as (

    select open_lines.*, {{ integer_divide('open_lines.signed_amount_minor', 'amount_rule.amount_tolerance_minor + 1') }} as amount_bucket
    from open_lines
    cross join amount_rule

),

amount_payouts as (

    select
        open_payouts.*,
        {{ integer_divide('open_payouts.amount_minor', 'amount_rule.amount_tolerance_minor + 1') }} + buckets.bucket_offset as amount_bucket
    from open_payouts
    cross join amount_rule
    inner join {{ neighbouring_buckets() }} as buckets
        on amount_rule.amount_tolerance_minor <> 0 or buckets.bucket_offset = 0

),

amount_pairs as (

    select
        amount_payouts.payout_key,
        amount_lines.line_key,
        amount_payouts.amount_minor as payout_amount_minor,
        amount_lines.signed_amount_minor as line_amount_minor,
        amount_lines.is_confirmed
    from amount_payouts
    inner join amount_lines
        on amount_payouts.currency = amount_lines.currency
        and amount_payouts.amount_bucket = amount_lines.amount_bucket
    cross join amount_rule
    where abs(amount_lines.signed_amount_minor - amount_payouts.amount_minor) <= amount_rule.amount_tolerance_minor
        and amount_lines.booking_business_day between amount_payouts.arrival_business_day - amount_rule.business_days_before
            and amount_payouts.arrival_business_day + amount_rule.business_days_after
        and amount_payouts.naming_lines = 0
        and amount_lines.named_payouts = 0
        and not (amount_lines.has_foreign_trace and amount_payouts.trace_id is not null)
    -- A line naming this account beats one that does not (another Stripe account's payout).
    qualify amount_lines.is_confirmed or not bool_or(amount_lines.is_confirmed) over (partition by amount_payouts.payout_key)

),

amount_outcomes as (

    select
        payout_key,
        line_key,
        'deposit' as match_kind,
        'amount_descriptor' as match_rule,
        (select priority from amount_rule) as priority,
        case
            when count(*) over (partition by payout_key) = 1
                and count(*) over (partition by line_key) = 1
                and is_confirmed then 'matched'
            else 'ambiguous'
        end as candidate_status,
        payout_amount_minor as amount_minor,
        line_amount_minor - payout_amount_minor as difference_minor
    from amount_pairs

)

select * from amount_outcomes
