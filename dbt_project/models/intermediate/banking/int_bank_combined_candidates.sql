{{ config(materialized='table') }}

-- Bank matching rule 3, combined_deposit: consecutive open payouts of a currency whose sum is one
-- Stripe-looking line, or a line naming one payout whose surplus is exactly one other open payout.
-- Judged against rules 2 and 4 in int_bank_payout_candidates.

with

combined_rule as (

    select * from {{ ref('bank_matching_rules') }}
    where is_enabled and match_rule = 'combined_deposit'

),

payouts as (

    select * from {{ ref('int_bank_payouts') }}

),

lines as (

    select * from {{ ref('int_bank_statement_lines_deduplicated') }}

),

open_payouts as (

    select * from {{ ref('int_bank_open_payouts') }}

),

open_lines as (

    select * from {{ ref('int_bank_open_lines') }}

),

reference_candidates as (

    select * from {{ ref('int_bank_reference_candidates') }}

),

{{ consecutive_runs(
    'combined', 'open_payouts', partition_by=['currency'], order_by=['arrival_date', 'payout_key'],
    amount_column='amount_minor', rule='combined_rule',
    first_columns=['arrival_business_day'], last_columns=['arrival_business_day'],
) }},

combined_lines as (

    select open_lines.*, {{ integer_divide('open_lines.signed_amount_minor', 'combined_rule.amount_tolerance_minor + 1') }} as amount_bucket
    from open_lines
    cross join combined_rule

),

combined_run_pairs as {{ materialized_cte() }} (

    select
        runs.currency,
        runs.end_position,
        runs.group_size,
        runs.amount_minor as payouts_sum_minor,
        combined_lines.line_key,
        combined_lines.signed_amount_minor as line_amount_minor,
        combined_lines.named_payouts,
        combined_lines.has_foreign_trace,
        combined_lines.is_confirmed
    from combined_runs as runs
    cross join combined_rule
    inner join combined_lines
        on runs.currency = combined_lines.currency
        and runs.amount_bucket = combined_lines.amount_bucket
    where abs(runs.amount_minor - combined_lines.signed_amount_minor) <= combined_rule.amount_tolerance_minor
        and runs.last_arrival_business_day - runs.first_arrival_business_day
            <= combined_rule.business_days_before + combined_rule.business_days_after
        and combined_lines.booking_business_day
            between runs.last_arrival_business_day - combined_rule.business_days_before
            and runs.first_arrival_business_day + combined_rule.business_days_after

),

combined_run_member_positions as {{ materialized_cte() }} (

    {{ run_member_positions('combined_run_pairs', 'combined_rule') }}

),

-- The members of the runs a line matched, checked against the references: members may be named
-- only by that line, and the line may name only members.
combined_pairs as (

    select
        pairs.currency,
        pairs.end_position,
        pairs.group_size,
        {{ ordered_list_agg('members.payout_key', 'members.position') }} as payout_keys,
        pairs.payouts_sum_minor,
        pairs.line_key,
        pairs.line_amount_minor,
        pairs.is_confirmed
    from combined_run_member_positions as pairs
    inner join combined_numbered as members
        on pairs.currency = members.currency
        and pairs.member_position = members.position
    -- A pair is its run and line; the line's own columns, read in `having`, follow from the line.
    group by
        pairs.currency, pairs.end_position, pairs.group_size, pairs.payouts_sum_minor, pairs.line_key,
        pairs.line_amount_minor, pairs.is_confirmed, pairs.named_payouts, pairs.has_foreign_trace
    having bool_and(members.naming_lines = 0 or members.naming_line_key = pairs.line_key)
        and pairs.named_payouts = count(members.naming_line_key)
        and not (pairs.has_foreign_trace and bool_or(members.trace_id is not null))

),

-- A line naming one payout but holding more: the rest may be one open payout of exactly the
-- difference (a combined deposit on which the bank printed one trace).
combined_remainder_pairs as (

    select
        payouts.currency,
        {{ sorted_list(list_of(['named.payout_key', 'payouts.payout_key'])) }} as payout_keys,
        named.payout_amount_minor + payouts.amount_minor as payouts_sum_minor,
        named.line_key,
        named.line_amount_minor,
        -- the line names one of our payouts: it is ours whatever else it says
        true as is_confirmed
    from reference_candidates as named
    cross join combined_rule
    inner join open_payouts as payouts
        on payouts.amount_minor = named.line_amount_minor - named.payout_amount_minor
    inner join lines
        on named.line_key = lines.line_key
        and lines.currency = payouts.currency
    where named.lines_of_payout = 1
        and named.payouts_of_line = 1
        and payouts.naming_lines = 0
        and payouts.payout_key <> named.payout_key
        and lines.booking_business_day between payouts.arrival_business_day - combined_rule.business_days_before
            and payouts.arrival_business_day + combined_rule.business_days_after

),

combined_candidates as (

    select distinct currency, {{ sorted_list('payout_keys') }} as payout_keys, payouts_sum_minor, line_key, line_amount_minor, is_confirmed
    from combined_pairs
    union
    select currency, payout_keys, payouts_sum_minor, line_key, line_amount_minor, is_confirmed
    from combined_remainder_pairs

),

combined_unique as (

    select *
    from combined_candidates
    qualify count(*) over (partition by line_key) = 1
        and count(*) over (partition by payout_keys) = 1

),

combined_members as (

    select
        {{ unnest_as('combined_unique.payout_keys', 'payout_key') }},
        combined_unique.line_key,
        combined_unique.line_amount_minor - combined_unique.payouts_sum_minor as difference_minor,
        combined_unique.is_confirmed
    from combined_unique

),

combined_outcomes as (

    select
        combined_members.payout_key,
        combined_members.line_key,
        'deposit' as match_kind,
        'combined_deposit' as match_rule,
        (select priority from combined_rule) as priority,
        case
            when count(*) over (partition by combined_members.payout_key) = 1 and combined_members.is_confirmed then 'matched'
            else 'ambiguous'
        end as candidate_status,
        payouts.amount_minor,
        combined_members.difference_minor
    from combined_members
    inner join payouts
        on combined_members.payout_key = payouts.payout_key

)

select * from combined_outcomes
