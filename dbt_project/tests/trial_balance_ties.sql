{{ config(meta={'dagster': {'ref': {'name': 'rpt_trial_balance'}}, 'description': 'Trial balance sums to zero. Per entity and currency, the trial balance\'s debits equal its credits. When it fails: exports are blocked; look at the journal entries balance proof first (it names the entries), then run the ledger again.'}) }}
-- Proof 2: the trial balance sums to zero per entity and currency.

select
    entity_id,
    currency,
    sum(balance_minor) as imbalance_minor
from {{ ref('rpt_trial_balance') }}
group by entity_id, currency
having sum(balance_minor) <> 0
