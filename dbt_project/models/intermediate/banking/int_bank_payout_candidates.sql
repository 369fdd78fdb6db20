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
-- Each rule is a model of its own (int_bank_reference_candidates, then on what the references leave
-- open, int_bank_open_payouts and int_bank_open_lines: int_bank_amount_candidates,
-- int_bank_combined_candidates, int_bank_split_candidates; and int_bank_return_candidates), a table,
-- so no query plan holds more than one rule: Spark inlines a common table expression at each of its
-- reads, and the rules as one model's CTEs were more than it could plan (docs/operations.md).
-- This model judges rules 2-4 together and unions the outcomes.

with

rules as (

    select * from {{ ref('bank_matching_rules') }}
    where is_enabled

),

payouts as (

    select * from {{ ref('int_bank_payouts') }}

),

lines as (

    select * from {{ ref('int_bank_statement_lines_deduplicated') }}

),

---------- rules 2-4 judged together: a payout or line that two of them propose is ambiguous

amount_outcomes_unioned as (

    select *, {{ list_of(['payout_key', 'line_key']) }} as group_key from {{ ref('int_bank_amount_candidates') }}
    union all
    select *, {{ list_of(['line_key']) }} as group_key from {{ ref('int_bank_combined_candidates') }}
    union all
    select *, {{ list_of(['payout_key']) }} as group_key from {{ ref('int_bank_split_candidates') }}

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

---------- all outcomes, with what the rules record on a match

unioned as {{ materialized_cte() }} (

    select payout_key, line_key, match_kind, match_rule, priority, candidate_status, amount_minor, difference_minor
    from {{ ref('int_bank_reference_candidates') }}
    union all
    select
        payout_key, line_key, match_kind, match_rule, priority, candidate_status, amount_minor, difference_minor
    from amount_outcomes_judged
    union all
    select * from {{ ref('int_bank_return_candidates') }}

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
