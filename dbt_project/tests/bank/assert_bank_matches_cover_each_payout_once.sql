{{ config(meta={'dagster': {'ref': {'name': 'fct_payout_bank_matches'}}, 'description': 'Bank matches cover each payout once. The bank lines matched to a payout add up to its amount. When it fails: the rows name the payouts; check for a statement loaded twice in different formats, and report it if it persists.'}) }}
-- The lines matched to a payout cover it exactly once: their parts add up to the payout's amount.
-- Returns payouts whose matched parts do not.

with

matches as (

    select payout_id, sum(amount_minor) as matched_minor
    from {{ ref('fct_payout_bank_matches') }}
    group by payout_id

),

payouts as (

    select payout_id, amount_minor from {{ ref('stg_stripe__payouts') }}

)

select matches.payout_id, matches.matched_minor, payouts.amount_minor
from matches
inner join payouts
    on matches.payout_id = payouts.payout_id
where matches.matched_minor <> payouts.amount_minor
    and (select max(amount_tolerance_minor) from {{ ref('bank_matching_rules') }} where is_enabled) = 0
