{{ config(materialized='table') }}

-- Which bank lines name which payouts, and how: the payout's trace id (or id) as the line's customer
-- or bank reference (rule trace_id), or as a token in the line's text (rule reference_token).
-- One row per (payout, line) pair with the strongest way it was named, by their integer keys. `match_kind` says whether
-- the line brings the payout's money in (`deposit`: same sign as the payout) or takes it back
-- (`return`: opposite sign, the bank returning a failed payout).

with

rules as (

    select * from {{ ref('bank_matching_rules') }}
    where is_enabled and match_rule in ('trace_id', 'reference_token')

),

payouts as (

    select payout_key, payout_id, amount_minor, trace_id from {{ ref('int_bank_payouts') }}

),

lines as (

    select * from {{ ref('int_bank_statement_lines_deduplicated') }}

),

named_references as (

    select line_key, customer_reference as reference, 'trace_id' as match_rule
    from lines
    where customer_reference is not null
    union all
    select line_key, bank_reference as reference, 'trace_id' as match_rule
    from lines
    where bank_reference is not null
    union all
    select line_key, {{ unnest_as('text_tokens', 'reference') }}, 'reference_token' as match_rule
    from lines

),

hits as (

    select named_references.line_key, payouts.payout_key, named_references.match_rule
    from named_references
    inner join payouts
        on named_references.reference = payouts.trace_id
    union all
    select named_references.line_key, payouts.payout_key, named_references.match_rule
    from named_references
    inner join payouts
        on named_references.reference = payouts.payout_id

),

strongest as (

    select
        hits.payout_key,
        hits.line_key,
        min_by(rules.match_rule, rules.priority) as match_rule,
        min(rules.priority) as priority
    from hits
    inner join rules
        on hits.match_rule = rules.match_rule
    group by hits.payout_key, hits.line_key

),

final as (

    select
        strongest.*,
        case
            when sign(lines.signed_amount_minor) = sign(payouts.amount_minor) then 'deposit'
            else 'return'
        end as match_kind
    from strongest
    inner join lines
        on strongest.line_key = lines.line_key
    inner join payouts
        on strongest.payout_key = payouts.payout_key

)

select * from final
