{{ config(materialized='table') }}

-- Bank matching rule 4, split_deposit: consecutive open Stripe-looking lines of one account and day
-- whose sum is one open payout. Judged against rules 2 and 3 in int_bank_payout_candidates.

with

split_rule as (

    select * from {{ ref('bank_matching_rules') }}
    where is_enabled and match_rule = 'split_deposit'

),

open_payouts as (

    select * from {{ ref('int_bank_open_payouts') }}

),

open_lines as (

    select * from {{ ref('int_bank_open_lines') }}

),

-- Runs of consecutive lines of one account and day.
{{ consecutive_runs(
    'split', 'open_lines', partition_by=['bank_account_id', 'currency', 'booking_date'],
    order_by=['bank_reference', 'line_key'], amount_column='signed_amount_minor', rule='split_rule',
    first_columns=[], last_columns=['booking_business_day'],
) }},

split_payouts as (

    select open_payouts.*, {{ integer_divide('open_payouts.amount_minor', 'split_rule.amount_tolerance_minor + 1') }} as amount_bucket
    from open_payouts
    cross join split_rule

),

split_run_pairs as {{ materialized_cte() }} (

    select
        split_payouts.payout_key,
        split_payouts.amount_minor as payout_amount_minor,
        split_payouts.naming_lines,
        split_payouts.trace_id,
        runs.bank_account_id,
        runs.currency,
        runs.booking_date,
        runs.end_position,
        runs.group_size,
        runs.amount_minor as lines_sum_minor
    from split_runs as runs
    cross join split_rule
    inner join split_payouts
        on runs.currency = split_payouts.currency
        and runs.amount_bucket = split_payouts.amount_bucket
    where abs(runs.amount_minor - split_payouts.amount_minor) <= split_rule.amount_tolerance_minor
        and runs.last_booking_business_day
            between split_payouts.arrival_business_day - split_rule.business_days_before
            and split_payouts.arrival_business_day + split_rule.business_days_after

),

split_run_member_positions as {{ materialized_cte() }} (

    {{ run_member_positions('split_run_pairs', 'split_rule') }}

),

-- Members may name only the payout, and the payout may be named only by members.
split_pairs as (

    select
        pairs.payout_key,
        pairs.payout_amount_minor,
        pairs.bank_account_id,
        pairs.booking_date,
        pairs.end_position,
        pairs.group_size,
        {{ ordered_list_agg('members.line_key', 'members.position') }} as line_keys,
        {{ ordered_list_agg('members.signed_amount_minor', 'members.position') }} as line_amounts,
        pairs.lines_sum_minor,
        bool_and(members.is_confirmed) as is_confirmed
    from split_run_member_positions as pairs
    inner join split_numbered as members
        on pairs.bank_account_id = members.bank_account_id
        and pairs.currency = members.currency
        and pairs.booking_date = members.booking_date
        and pairs.member_position = members.position
    -- A pair is its payout and run; the payout's own columns, read in `having`, follow from the payout.
    group by
        pairs.payout_key, pairs.payout_amount_minor, pairs.bank_account_id, pairs.booking_date, pairs.end_position,
        pairs.group_size, pairs.lines_sum_minor, pairs.naming_lines, pairs.trace_id
    having bool_and(members.named_payouts = 0 or members.named_payout_key = pairs.payout_key)
        and pairs.naming_lines = count(members.named_payout_key)
        and not (bool_or(members.has_foreign_trace) and pairs.trace_id is not null)

),

split_unique as (

    select *
    from split_pairs
    qualify count(*) over (partition by payout_key) = 1
        and count(*) over (partition by bank_account_id, booking_date, end_position, group_size) = 1

),

split_members as (

    select
        split_unique.payout_key,
        {{ unnest_zipped(['split_unique.line_keys', 'split_unique.line_amounts'], ['line_key', 'amount_minor']) }},
        split_unique.lines_sum_minor - split_unique.payout_amount_minor as difference_minor,
        split_unique.is_confirmed
    from split_unique

),

split_outcomes as (

    select
        payout_key,
        line_key,
        'deposit' as match_kind,
        'split_deposit' as match_rule,
        (select priority from split_rule) as priority,
        case when count(*) over (partition by line_key) = 1 and is_confirmed then 'matched' else 'ambiguous' end
            as candidate_status,
        amount_minor,
        difference_minor
    from split_members

)

select * from split_outcomes
