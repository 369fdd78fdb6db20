{{ config(materialized='table') }}

-- The payouts the references left to the amount rules (int_bank_payout_candidates), with how many
-- deposit lines name each (a payout named by other lines is never paired by amount).

with

payouts as (

    select * from {{ ref('int_bank_payouts') }}

),

references_named as (

    select * from {{ ref('int_bank_payout_references') }}

),

reference_closed_payouts as (

    select distinct payout_key from {{ ref('int_bank_reference_candidates') }} where candidate_status <> 'amount_difference'

),

open_payouts as (

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

)

select * from open_payouts
