{{ config(meta={'dagster': {'ref': {'name': 'fct_payout_bank_matches'}}, 'description': 'A bank line matches one payout (or one group). A deposit is matched to one payout, or to several under one combined-deposit rule. When it fails: the rows name the bank lines; check dbt_project/seeds/bank_matching_rules.csv, and report it if it persists.'}) }}
-- A bank line is matched to one payout, or (one deposit holding several payouts) to several payouts
-- under a single rule; a payout is matched once per line. Returns the offending lines.

select
    bank_statement_line_id,
    count(*) as pairs,
    count(distinct payout_id) as payouts,
    count(distinct match_rule) as rules
from {{ ref('fct_payout_bank_matches') }}
group by bank_statement_line_id
having count(*) <> count(distinct payout_id) or count(distinct match_rule) > 1
