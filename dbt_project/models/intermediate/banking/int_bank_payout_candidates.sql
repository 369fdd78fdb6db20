{{ config(materialized='table') }}

-- Payout-to-bank-line matching, rule by rule in priority order (seed bank_matching_rules); each rule
-- sees only what the rules before it left open. Every (payout, line) pair a rule proposes is kept
-- with its outcome: `matched` when it is the only candidate both ways, `ambiguous` when a payout
-- or a line has several (a person decides; later rules skip them), `amount_difference` when a
-- reference names the payout but the amounts do not add up and no later rule explains it.
--
-- 1. References (trace_id, reference_token; int_bank_payout_references): lines naming a payout.
--    One line for one payout, several lines that only name that payout and add up to it (split),
--    or one line naming several payouts that add up to it (combined).
-- 2. amount_descriptor: one Stripe-looking line of the payout's exact amount (+- tolerance) and
--    currency within the business-day window around arrival_date.
-- 3. combined_deposit: consecutive open payouts of a currency whose sum is one Stripe-looking line,
--    or a line naming one payout whose surplus is exactly one other open payout.
-- 4. split_deposit: consecutive Stripe-looking lines of one account and day whose sum is one payout.
--    Rules 2-4 look at what the references left open, side by side: a payout or line that two of
--    them propose (a decoy of the same amount beside a split deposit) is ambiguous, never matched.
-- 5. failure_return: a failed payout's return debit, by reference or as the only Stripe-looking
--    debit of its amount in the window after the failure.
-- Amount rules never pair a line that names other payouts, a payout named by other lines, or a
-- line carrying a trace that is not the payout's (a decoy from another Stripe account). Where the
-- bank account has descriptors (seed bank_payout_descriptors: what the bank shows on this Stripe
-- account's payouts), they match only lines naming one: another candidate (a payout whose trace
-- Stripe has not reported, beside another Stripe account's credit of its amount) is ambiguous,
-- and a payout's line naming this account is preferred to one that does not.
-- Payouts and lines are joined and grouped by their integer keys (int_bank_payouts,
-- int_bank_statement_lines_deduplicated); the string ids come back in the final step.
-- Joins are equi-joins on currency and an amount bucket (amount // (tolerance + 1), with the
-- neighbouring buckets when the tolerance is not 0), filtered by the date window; groups are built
-- by equi-joining each group's last member to the members at fixed offsets before it (macro
-- consecutive_runs). No range joins, so the work grows linearly with the number of payouts and lines.

with

rules as (

    select * from {{ ref('bank_matching_rules') }}
    where is_enabled

),

reference_rule as (

    select
        max(amount_tolerance_minor) as amount_tolerance_minor,
        min(business_days_before) as business_days_before,
        max(business_days_after) as business_days_after
    from rules
    where match_rule in ('trace_id', 'reference_token')

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

---------- 1. references

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
        end as difference_minor
    from reference_sums
    cross join reference_rule

),

---------- what the references leave open

reference_closed_payouts as (

    select distinct payout_key from reference_outcomes where candidate_status <> 'amount_difference'

),

reference_closed_lines as (

    select distinct line_key from reference_outcomes where candidate_status <> 'amount_difference'

),

open_payouts as {{ materialized_cte() }} (

    select
        payouts.*,
        coalesce(named.naming_lines, 0) as naming_lines,
        named.naming_line_key
    from payouts
    left join (
        select payout_key, count(*) as naming_lines, min(line_key) as naming_line_key
        from references_named
        where match_kind = 'deposit'
        group by payout_key
    ) as named
        on payouts.payout_key = named.payout_key
    where payouts.payout_key not in (select payout_key from reference_closed_payouts)

),

open_lines as {{ materialized_cte() }} (

    select
        lines.*,
        coalesce(named.named_payouts, 0) as named_payouts,
        named.named_payout_key,
        -- A trace-looking token that names none of our payouts: another Stripe account's payout,
        -- or ours whose trace id Stripe has not reported yet.
        named.named_payouts is null
            and ({{ list_length('lines.text_tokens') }} > 0 or coalesce(lines.customer_reference, '') like 'ST-%') as has_foreign_trace,
        -- The text names this Stripe account, or its bank shows no name to check (no descriptor configured).
        coalesce(lines.names_this_account, true) as is_confirmed
    from lines
    left join (
        select line_key, count(*) as named_payouts, min(payout_key) as named_payout_key
        from references_named
        where match_kind = 'deposit'
        group by line_key
    ) as named
        on lines.line_key = named.line_key
    where lines.is_stripe_like
        and lines.line_key not in (select line_key from reference_closed_lines)

),

---------- 2. amount_descriptor

amount_rule as (

    select * from rules where match_rule = 'amount_descriptor'

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

amount_outcomes as {{ materialized_cte() }} (

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

),

---------- 3. combined_deposit: several payouts in one line

combined_rule as (

    select * from rules where match_rule = 'combined_deposit'

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
    from reference_sums as named
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

combined_outcomes as {{ materialized_cte() }} (

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

),

---------- 4. split_deposit: one payout in several lines

split_rule as (

    select * from rules where match_rule = 'split_deposit'

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

split_outcomes as {{ materialized_cte() }} (

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

),

---------- rules 2-4 judged together: a payout or line that two of them propose is ambiguous

amount_outcomes_unioned as (

    select *, {{ list_of(['payout_key', 'line_key']) }} as group_key from amount_outcomes
    union all
    select *, {{ list_of(['line_key']) }} as group_key from combined_outcomes
    union all
    select *, {{ list_of(['payout_key']) }} as group_key from split_outcomes

),

contested_payouts as (

    select payout_key from amount_outcomes_unioned group by payout_key having count(distinct match_rule) > 1

),

contested_lines as (

    select line_key
    from amount_outcomes_unioned
    group by line_key
    having count(distinct match_rule) > 1

),

amount_outcomes_judged as (

    select
        {{ star_except(['candidate_status', 'group_key'], 'outcomes') }},
        case
            when bool_and(
                outcomes.candidate_status = 'matched'
                and contested_payouts.payout_key is null
                and contested_lines.line_key is null
            ) over (partition by outcomes.match_rule, outcomes.group_key) then 'matched'
            else 'ambiguous'
        end as candidate_status
    from amount_outcomes_unioned as outcomes
    left join contested_payouts
        on outcomes.payout_key = contested_payouts.payout_key
    left join contested_lines
        on outcomes.line_key = contested_lines.line_key

),

---------- 5. failure_return

return_rule as (

    select * from rules where match_rule = 'failure_return'

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

),

---------- all outcomes, with what the rules record on a match

unioned as {{ materialized_cte() }} (

    select * from reference_outcomes
    union all
    select
        payout_key, line_key, match_kind, match_rule, priority, candidate_status, amount_minor, difference_minor
    from amount_outcomes_judged
    union all
    select * from return_outcomes

),

-- A reference whose amounts did not add up is only an exception when no later rule matched the pair.
final as (

    select
        payouts.payout_id,
        lines.bank_statement_line_id,
        payouts.stripe_account_id,
        payouts.entity_id,
        unioned.match_kind,
        unioned.match_rule,
        unioned.priority,
        rules.confidence,
        unioned.candidate_status,
        payouts.payout_status,
        payouts.currency,
        cast(unioned.amount_minor as bigint) as amount_minor,
        cast(unioned.difference_minor as bigint) as difference_minor,
        lines.booking_date,
        lines.booking_business_day,
        lines.value_date,
        lines.bank_account_id,
        lines.bank_reference,
        lines.file_name,
        lines.file_line,
        payouts.arrival_date
    from unioned
    inner join rules
        on unioned.match_rule = rules.match_rule
    inner join payouts
        on unioned.payout_key = payouts.payout_key
    inner join lines
        on unioned.line_key = lines.line_key
    where not (
        unioned.candidate_status = 'amount_difference'
        and (
            unioned.payout_key in (select payout_key from unioned where candidate_status = 'matched')
            or unioned.line_key in (select line_key from unioned where candidate_status = 'matched')
        )
    )

)

select * from final
