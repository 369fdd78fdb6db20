{{ config(materialized='table') }}

-- Which bank lines name which payouts, and how: the payout's trace id (or id) as the line's customer
-- or bank reference (rule trace_id), or as a token in the line's text (rule reference_token).
-- One row per (payout, line) pair with the strongest way it was named. `match_kind` says whether
-- the line brings the payout's money in (`deposit`: same sign as the payout) or takes it back
-- (`return`: opposite sign, the bank returning a failed payout).

with

rules as (

    select * from {{ ref('bank_matching_rules') }}
    where is_enabled and match_rule in ('trace_id', 'reference_token')

),

payouts as (

    select
        payout_id,
        amount_minor,
        case when trace_id_status = 'supported' then trace_id_value end as trace_id
    from {{ ref('stg_stripe__payouts') }}
    where payout_status in ('in_transit', 'paid', 'failed')

),

lines as (

    select * from {{ ref('int_bank_statement_lines_deduplicated') }}

),

named_references as (

    select bank_statement_line_id, customer_reference as reference, 'trace_id' as match_rule
    from lines
    where customer_reference is not null
    union all
    select bank_statement_line_id, bank_reference as reference, 'trace_id' as match_rule
    from lines
    where bank_reference is not null
    union all
    select bank_statement_line_id, unnest(text_tokens) as reference, 'reference_token' as match_rule
    from lines

),

hits as (

    select named_references.bank_statement_line_id, payouts.payout_id, named_references.match_rule
    from named_references
    inner join payouts
        on named_references.reference = payouts.trace_id
    union all
    select named_references.bank_statement_line_id, payouts.payout_id, named_references.match_rule
    from named_references
    inner join payouts
        on named_references.reference = payouts.payout_id

),

strongest as (

    select
        hits.payout_id,
        hits.bank_statement_line_id,
        arg_min(rules.match_rule, rules.priority) as match_rule,
        min(rules.priority) as priority
    from hits
    inner join rules
        on hits.match_rule = rules.match_rule
    group by hits.payout_id, hits.bank_statement_line_id

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
        on strongest.bank_statement_line_id = lines.bank_statement_line_id
    inner join payouts
        on strongest.payout_id = payouts.payout_id

)

select * from final
