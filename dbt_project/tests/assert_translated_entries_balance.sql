{{ config(meta={'dagster': {'ref': {'name': 'fct_journal_lines_translated'}}, 'description': 'Translated entries balance. Every journal entry in the entity\'s functional currency, and every FX revaluation, still sums to zero. When it fails: check dbt_project/seeds/fx_rates.csv for a missing or wrong rate on the dates named, then run the ledger again.'}) }}
-- Every journal entry translated into its entity's functional currency still sums to zero, and so
-- does every period-end revaluation and its reversal.

with

functional_lines as (

    select journal_entry_id, entity_id, functional_currency, functional_amount_minor
    from {{ ref('fct_journal_lines_translated') }}
    union all
    select journal_entry_id, entity_id, functional_currency, functional_amount_minor
    from {{ ref('fct_fx_revaluation_lines') }}

)

select
    journal_entry_id,
    entity_id,
    any_value(functional_currency) as functional_currency,
    sum(functional_amount_minor) as imbalance_minor
from functional_lines
group by journal_entry_id, entity_id
having sum(functional_amount_minor) <> 0
