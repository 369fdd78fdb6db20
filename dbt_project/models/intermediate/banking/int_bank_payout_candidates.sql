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
-- 3. combined_deposit: consecutive open payouts of a currency whose sum is one Stripe-looking line.
-- 4. split_deposit: consecutive Stripe-looking lines of one account and day whose sum is one payout.
-- 5. failure_return: a failed payout's return debit, by reference or as the only Stripe-looking
--    debit of its amount in the window after the failure.
-- Amount rules never pair a line that names other payouts, a payout named by other lines, or a
-- line carrying a trace that is not the payout's (a decoy from another Stripe account).
-- Joins are equi-joins on currency and an amount bucket (amount // (tolerance + 1), with the
-- neighbouring buckets when the tolerance is not 0), filtered by the date window.

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

    select
        payouts.payout_id,
        payouts.currency,
        payouts.amount_minor,
        payouts.payout_status,
        payouts.arrival_date,
        case when payouts.trace_id_status = 'supported' then payouts.trace_id_value end as trace_id,
        (date_diff('day', date '1970-01-05', payouts.arrival_date) // 7) * 5
            + least(date_diff('day', date '1970-01-05', payouts.arrival_date) % 7, 5) as arrival_business_day,
        (date_diff('day', date '1970-01-05', cast(failures.created_at as date)) // 7) * 5
            + least(date_diff('day', date '1970-01-05', cast(failures.created_at as date)) % 7, 5) as failure_business_day
    from {{ ref('stg_stripe__payouts') }} as payouts
    left join {{ ref('stg_stripe__balance_transactions') }} as failures
        on payouts.failure_balance_transaction_id = failures.balance_transaction_id
    where payouts.payout_status in ('in_transit', 'paid', 'failed')

),

lines as (

    select * from {{ ref('int_bank_statement_lines_deduplicated') }}

),

references_named as (

    select * from {{ ref('int_bank_payout_references') }}

),

---------- 1. references

reference_edges as (

    select
        references_named.payout_id,
        references_named.bank_statement_line_id,
        references_named.match_rule,
        references_named.priority,
        payouts.currency,
        payouts.amount_minor as payout_amount_minor,
        lines.signed_amount_minor as line_amount_minor,
        lines.booking_date,
        count(*) over (partition by references_named.payout_id) as lines_of_payout,
        count(*) over (partition by references_named.bank_statement_line_id) as payouts_of_line
    from references_named
    inner join payouts
        on references_named.payout_id = payouts.payout_id
    inner join lines
        on references_named.bank_statement_line_id = lines.bank_statement_line_id
    cross join reference_rule
    where references_named.match_kind = 'deposit'
        and lines.booking_business_day between payouts.arrival_business_day - reference_rule.business_days_before
            and payouts.arrival_business_day + reference_rule.business_days_after

),

reference_sums as (

    select
        *,
        bool_and(payouts_of_line = 1) over (partition by payout_id) as lines_name_only_this_payout,
        sum(line_amount_minor) over (partition by payout_id) as lines_sum_minor,
        bool_and(lines_of_payout = 1) over (partition by bank_statement_line_id) as payouts_named_only_here,
        sum(payout_amount_minor) over (partition by bank_statement_line_id) as payouts_sum_minor
    from reference_edges

),

reference_outcomes as (

    select
        reference_sums.payout_id,
        reference_sums.bank_statement_line_id,
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

    select distinct payout_id from reference_outcomes where candidate_status <> 'amount_difference'

),

reference_closed_lines as (

    select distinct bank_statement_line_id from reference_outcomes where candidate_status <> 'amount_difference'

),

open_payouts as (

    select
        payouts.*,
        coalesce(named.lines_naming, []) as lines_naming
    from payouts
    left join (
        select payout_id, list(bank_statement_line_id) as lines_naming
        from references_named
        where match_kind = 'deposit'
        group by payout_id
    ) as named
        on payouts.payout_id = named.payout_id
    where payouts.payout_id not in (select payout_id from reference_closed_payouts)

),

open_lines as (

    select
        lines.*,
        coalesce(named.payouts_named, []) as payouts_named,
        -- A trace-looking token that names none of our payouts: another Stripe account's payout,
        -- or ours whose trace id Stripe has not reported yet.
        named.payouts_named is null
            and (len(lines.text_tokens) > 0 or coalesce(lines.customer_reference, '') like 'ST-%') as has_foreign_trace
    from lines
    left join (
        select bank_statement_line_id, list(payout_id) as payouts_named
        from references_named
        where match_kind = 'deposit'
        group by bank_statement_line_id
    ) as named
        on lines.bank_statement_line_id = named.bank_statement_line_id
    where lines.is_stripe_like
        and lines.bank_statement_line_id not in (select bank_statement_line_id from reference_closed_lines)

),

---------- 2. amount_descriptor

amount_rule as (

    select * from rules where match_rule = 'amount_descriptor'

),

amount_lines as (

    select open_lines.*, open_lines.signed_amount_minor // (amount_rule.amount_tolerance_minor + 1) as amount_bucket
    from open_lines
    cross join amount_rule

),

amount_payouts as (

    select
        open_payouts.*,
        open_payouts.amount_minor // (amount_rule.amount_tolerance_minor + 1)
            + unnest(case when amount_rule.amount_tolerance_minor = 0 then [0] else [-1, 0, 1] end) as amount_bucket
    from open_payouts
    cross join amount_rule

),

amount_pairs as (

    select
        amount_payouts.payout_id,
        amount_lines.bank_statement_line_id,
        amount_payouts.amount_minor as payout_amount_minor,
        amount_lines.signed_amount_minor as line_amount_minor
    from amount_payouts
    inner join amount_lines
        on amount_payouts.currency = amount_lines.currency
        and amount_payouts.amount_bucket = amount_lines.amount_bucket
    cross join amount_rule
    where abs(amount_lines.signed_amount_minor - amount_payouts.amount_minor) <= amount_rule.amount_tolerance_minor
        and amount_lines.booking_business_day between amount_payouts.arrival_business_day - amount_rule.business_days_before
            and amount_payouts.arrival_business_day + amount_rule.business_days_after
        and len(amount_payouts.lines_naming) = 0
        and len(amount_lines.payouts_named) = 0
        and not (amount_lines.has_foreign_trace and amount_payouts.trace_id is not null)

),

amount_outcomes as (

    select
        payout_id,
        bank_statement_line_id,
        'deposit' as match_kind,
        'amount_descriptor' as match_rule,
        (select priority from amount_rule) as priority,
        case
            when count(*) over (partition by payout_id) = 1
                and count(*) over (partition by bank_statement_line_id) = 1 then 'matched'
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

combined_open_payouts as (

    select
        *,
        row_number() over (partition by currency order by arrival_date, payout_id) as position
    from open_payouts
    where payout_id not in (select payout_id from amount_outcomes)

),

combined_groups as (

    select
        ends.currency,
        ends.position as end_position,
        sizes.group_size,
        list(members.payout_id order by members.position) as payout_ids,
        sum(members.amount_minor) as amount_minor,
        min(members.arrival_business_day) as first_arrival_business_day,
        max(members.arrival_business_day) as last_arrival_business_day,
        bool_or(members.trace_id is not null) as has_known_trace,
        flatten(list(members.lines_naming)) as lines_naming,
        count(*) as member_count
    from combined_open_payouts as ends
    cross join combined_rule
    cross join (select unnest(range(2, 1 + (select max_group_size from combined_rule))) as group_size) as sizes
    inner join combined_open_payouts as members
        on ends.currency = members.currency
        and members.position between ends.position - sizes.group_size + 1 and ends.position
    group by ends.currency, ends.position, sizes.group_size

),

combined_pairs as (

    select
        combined_groups.currency,
        combined_groups.end_position,
        combined_groups.group_size,
        combined_groups.payout_ids,
        combined_groups.amount_minor as payouts_sum_minor,
        combined_lines.bank_statement_line_id,
        combined_lines.signed_amount_minor as line_amount_minor
    from combined_groups
    cross join combined_rule
    inner join (
        select amount_lines.*
        from amount_lines
        where bank_statement_line_id not in (select bank_statement_line_id from amount_outcomes)
    ) as combined_lines
        on combined_groups.currency = combined_lines.currency
        and abs(combined_groups.amount_minor - combined_lines.signed_amount_minor) <= combined_rule.amount_tolerance_minor
    where combined_groups.member_count = combined_groups.group_size
        and combined_groups.last_arrival_business_day - combined_groups.first_arrival_business_day
            <= combined_rule.business_days_before + combined_rule.business_days_after
        and combined_lines.booking_business_day
            between combined_groups.last_arrival_business_day - combined_rule.business_days_before
            and combined_groups.first_arrival_business_day + combined_rule.business_days_after
        and list_has_all([combined_lines.bank_statement_line_id], combined_groups.lines_naming)
        and list_has_all(combined_groups.payout_ids, combined_lines.payouts_named)
        and not (combined_lines.has_foreign_trace and combined_groups.has_known_trace)

),

combined_unique as (

    select *
    from combined_pairs
    qualify count(*) over (partition by bank_statement_line_id) = 1
        and count(*) over (partition by currency, end_position, group_size) = 1

),

combined_members as (

    select
        unnest(combined_unique.payout_ids) as payout_id,
        combined_unique.bank_statement_line_id,
        combined_unique.line_amount_minor - combined_unique.payouts_sum_minor as difference_minor
    from combined_unique

),

combined_outcomes as (

    select
        combined_members.payout_id,
        combined_members.bank_statement_line_id,
        'deposit' as match_kind,
        'combined_deposit' as match_rule,
        (select priority from combined_rule) as priority,
        case when count(*) over (partition by combined_members.payout_id) = 1 then 'matched' else 'ambiguous' end
            as candidate_status,
        payouts.amount_minor,
        combined_members.difference_minor
    from combined_members
    inner join payouts
        on combined_members.payout_id = payouts.payout_id

),

---------- 4. split_deposit: one payout in several lines

split_rule as (

    select * from rules where match_rule = 'split_deposit'

),

split_open_lines as (

    select
        *,
        row_number() over (
            partition by bank_account_id, currency, booking_date order by bank_reference, bank_statement_line_id
        ) as position
    from open_lines
    where bank_statement_line_id not in (select bank_statement_line_id from amount_outcomes)
        and bank_statement_line_id not in (select bank_statement_line_id from combined_outcomes)

),

split_groups as (

    select
        ends.bank_account_id,
        ends.currency,
        ends.booking_date,
        ends.position as end_position,
        sizes.group_size,
        any_value(ends.booking_business_day) as booking_business_day,
        list(members.bank_statement_line_id order by members.position) as line_ids,
        list(members.signed_amount_minor order by members.position) as line_amounts,
        sum(members.signed_amount_minor) as amount_minor,
        bool_or(members.has_foreign_trace) as has_foreign_trace,
        flatten(list(members.payouts_named)) as payouts_named,
        count(*) as member_count
    from split_open_lines as ends
    cross join (select unnest(range(2, 1 + (select max_group_size from split_rule))) as group_size) as sizes
    inner join split_open_lines as members
        on ends.bank_account_id = members.bank_account_id
        and ends.currency = members.currency
        and ends.booking_date = members.booking_date
        and members.position between ends.position - sizes.group_size + 1 and ends.position
    group by ends.bank_account_id, ends.currency, ends.booking_date, ends.position, sizes.group_size

),

split_pairs as (

    select
        split_payouts.payout_id,
        split_payouts.amount_minor as payout_amount_minor,
        split_groups.bank_account_id,
        split_groups.booking_date,
        split_groups.end_position,
        split_groups.group_size,
        split_groups.line_ids,
        split_groups.line_amounts,
        split_groups.amount_minor as lines_sum_minor
    from split_groups
    cross join split_rule
    inner join (
        select *
        from open_payouts
        where payout_id not in (select payout_id from amount_outcomes)
            and payout_id not in (select payout_id from combined_outcomes)
    ) as split_payouts
        on split_groups.currency = split_payouts.currency
        and abs(split_groups.amount_minor - split_payouts.amount_minor) <= split_rule.amount_tolerance_minor
    where split_groups.member_count = split_groups.group_size
        and split_groups.booking_business_day
            between split_payouts.arrival_business_day - split_rule.business_days_before
            and split_payouts.arrival_business_day + split_rule.business_days_after
        and list_has_all([split_payouts.payout_id], split_groups.payouts_named)
        and list_has_all(split_groups.line_ids, split_payouts.lines_naming)
        and not (split_groups.has_foreign_trace and split_payouts.trace_id is not null)

),

split_unique as (

    select *
    from split_pairs
    qualify count(*) over (partition by payout_id) = 1
        and count(*) over (partition by bank_account_id, booking_date, end_position, group_size) = 1

),

split_members as (

    select
        split_unique.payout_id,
        unnest(split_unique.line_ids) as bank_statement_line_id,
        unnest(split_unique.line_amounts) as amount_minor,
        split_unique.lines_sum_minor - split_unique.payout_amount_minor as difference_minor
    from split_unique

),

split_outcomes as (

    select
        payout_id,
        bank_statement_line_id,
        'deposit' as match_kind,
        'split_deposit' as match_rule,
        (select priority from split_rule) as priority,
        case when count(*) over (partition by bank_statement_line_id) = 1 then 'matched' else 'ambiguous' end
            as candidate_status,
        amount_minor,
        difference_minor
    from split_members

),

---------- 5. failure_return

return_rule as (

    select * from rules where match_rule = 'failure_return'

),

return_pairs as (

    -- named by a reference
    select
        references_named.payout_id,
        references_named.bank_statement_line_id,
        payouts.amount_minor as payout_amount_minor,
        lines.signed_amount_minor as line_amount_minor
    from references_named
    inner join payouts
        on references_named.payout_id = payouts.payout_id
    inner join lines
        on references_named.bank_statement_line_id = lines.bank_statement_line_id
    cross join return_rule
    where references_named.match_kind = 'return'
        and payouts.payout_status = 'failed'
        and lines.booking_business_day between payouts.failure_business_day - return_rule.business_days_before
            and payouts.failure_business_day + return_rule.business_days_after
        and abs(lines.signed_amount_minor + payouts.amount_minor) <= return_rule.amount_tolerance_minor
    union
    -- or the only Stripe-looking line of the opposite amount, naming no payout
    select
        payouts.payout_id,
        lines.bank_statement_line_id,
        payouts.amount_minor as payout_amount_minor,
        lines.signed_amount_minor as line_amount_minor
    from payouts
    cross join return_rule
    inner join lines
        on payouts.currency = lines.currency
        and -payouts.amount_minor = lines.signed_amount_minor
    where payouts.payout_status = 'failed'
        and lines.is_stripe_like
        and lines.bank_statement_line_id not in (select bank_statement_line_id from references_named)
        and lines.booking_business_day between payouts.failure_business_day - return_rule.business_days_before
            and payouts.failure_business_day + return_rule.business_days_after

),

return_outcomes as (

    select
        payout_id,
        bank_statement_line_id,
        'return' as match_kind,
        'failure_return' as match_rule,
        (select priority from return_rule) as priority,
        case
            when count(*) over (partition by payout_id) = 1
                and count(*) over (partition by bank_statement_line_id) = 1 then 'matched'
            else 'ambiguous'
        end as candidate_status,
        payout_amount_minor as amount_minor,
        line_amount_minor + payout_amount_minor as difference_minor
    from return_pairs

),

---------- all outcomes, with what the rules record on a match

unioned as (

    select * from reference_outcomes
    union all
    select * from amount_outcomes
    union all
    select * from combined_outcomes
    union all
    select * from split_outcomes
    union all
    select * from return_outcomes

),

-- A reference whose amounts did not add up is only an exception when no later rule matched the pair.
final as (

    select
        unioned.payout_id,
        unioned.bank_statement_line_id,
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
        payouts.arrival_date
    from unioned
    inner join rules
        on unioned.match_rule = rules.match_rule
    inner join payouts
        on unioned.payout_id = payouts.payout_id
    inner join lines
        on unioned.bank_statement_line_id = lines.bank_statement_line_id
    where not (
        unioned.candidate_status = 'amount_difference'
        and (
            unioned.payout_id in (select payout_id from unioned where candidate_status = 'matched')
            or unioned.bank_statement_line_id in (select bank_statement_line_id from unioned where candidate_status = 'matched')
        )
    )

)

select * from final
