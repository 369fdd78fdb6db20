{{ config(materialized='table') }}

-- The Stripe-looking bank lines the references left to the amount rules (int_bank_payout_candidates),
-- with the payouts each names and whether it carries another account's trace or names this one.

with

lines as (

    select * from {{ ref('int_bank_statement_lines_deduplicated') }}

),

references_named as (

    select * from {{ ref('int_bank_payout_references') }}

),

reference_closed_lines as (

    select distinct line_key from {{ ref('int_bank_reference_candidates') }} where candidate_status <> 'amount_difference'

),

open_lines as (

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

)

select * from open_lines
