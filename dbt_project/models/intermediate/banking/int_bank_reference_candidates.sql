{{ config(materialized='table') }}

-- Bank matching rule 1, references (trace_id, reference_token; int_bank_payout_references): the
-- pairs of a payout and a line naming it, judged by their sums (int_bank_payout_candidates tells
-- the rules apart). One line for one payout, several lines that only name that payout and add up
-- to it (split), or one line naming several payouts that add up to it (combined); a reference whose
-- amounts do not add up is `amount_difference`. The pair's sums travel with it: the combined rule
-- reads them for a line naming one payout and holding one more.

with

reference_rule as (

    select
        max(amount_tolerance_minor) as amount_tolerance_minor,
        min(business_days_before) as business_days_before,
        max(business_days_after) as business_days_after
    from {{ ref('bank_matching_rules') }}
    where is_enabled and match_rule in ('trace_id', 'reference_token')

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

reference_edges as {{ materialized_cte() }} (

    select
        references_named.payout_key,
        references_named.line_key,
        references_named.match_rule,
        references_named.priority,
        payouts.amount_minor as payout_amount_minor,
        lines.signed_amount_minor as line_amount_minor
    from references_named
    inner join payouts
        on references_named.payout_key = payouts.payout_key
    inner join lines
        on references_named.line_key = lines.line_key
    cross join reference_rule
    where references_named.match_kind = 'deposit'
        and lines.booking_business_day between payouts.arrival_business_day - reference_rule.business_days_before
            and payouts.arrival_business_day + reference_rule.business_days_after

),

-- Aggregates rather than window functions: hash aggregation keeps this linear and fast.
edges_per_line as {{ materialized_cte() }} (

    select line_key, count(*) as payouts_of_line, sum(payout_amount_minor) as payouts_sum_minor
    from reference_edges
    group by line_key

),

edges_per_payout as {{ materialized_cte() }} (

    select
        reference_edges.payout_key,
        count(*) as lines_of_payout,
        sum(reference_edges.line_amount_minor) as lines_sum_minor,
        bool_and(edges_per_line.payouts_of_line = 1) as lines_name_only_this_payout
    from reference_edges
    inner join edges_per_line
        on reference_edges.line_key = edges_per_line.line_key
    group by reference_edges.payout_key

),

payouts_named_only_here as (

    select reference_edges.line_key, bool_and(edges_per_payout.lines_of_payout = 1) as payouts_named_only_here
    from reference_edges
    inner join edges_per_payout
        on reference_edges.payout_key = edges_per_payout.payout_key
    group by reference_edges.line_key

),

reference_sums as (

    select
        reference_edges.*,
        edges_per_payout.lines_of_payout,
        edges_per_payout.lines_sum_minor,
        edges_per_payout.lines_name_only_this_payout,
        edges_per_line.payouts_of_line,
        edges_per_line.payouts_sum_minor,
        payouts_named_only_here.payouts_named_only_here
    from reference_edges
    inner join edges_per_payout
        on reference_edges.payout_key = edges_per_payout.payout_key
    inner join edges_per_line
        on reference_edges.line_key = edges_per_line.line_key
    inner join payouts_named_only_here
        on reference_edges.line_key = payouts_named_only_here.line_key

),

reference_outcomes as {{ materialized_cte() }} (

    select
        reference_sums.payout_key,
        reference_sums.line_key,
        'deposit' as match_kind,
        reference_sums.match_rule,
        reference_sums.priority,
        case
            when lines_name_only_this_payout
                and abs(lines_sum_minor - payout_amount_minor) <= reference_rule.amount_tolerance_minor then 'matched'
            when payouts_named_only_here
                and abs(payouts_sum_minor - line_amount_minor) <= reference_rule.amount_tolerance_minor then 'matched'
            when lines_of_payout = 1 and payouts_of_line = 1 then 'amount_difference'
            else 'ambiguous'
        end as candidate_status,
        -- The part of the payout this line covers: the line's amount when the payout is split
        -- over several lines, else the payout's amount.
        case when lines_of_payout > 1 then line_amount_minor else payout_amount_minor end as amount_minor,
        case
            when lines_of_payout > 1 then lines_sum_minor - payout_amount_minor
            when payouts_of_line > 1 then line_amount_minor - payouts_sum_minor
            else line_amount_minor - payout_amount_minor
        end as difference_minor,
        -- what the combined rule's remainder pairs read
        reference_sums.payout_amount_minor,
        reference_sums.line_amount_minor,
        reference_sums.lines_of_payout,
        reference_sums.payouts_of_line
    from reference_sums
    cross join reference_rule

)

select * from reference_outcomes
