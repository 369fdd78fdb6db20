{{ config(meta={'dagster': {'ref': {'name': 'rpt_trial_balance'}}}) }}
-- Proof 2: the trial balance sums to zero per entity and currency.

select
    entity_id,
    currency,
    sum(balance_minor) as imbalance_minor
from {{ ref('rpt_trial_balance') }}
group by entity_id, currency
having sum(balance_minor) <> 0
