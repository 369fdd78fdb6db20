{{ config(meta={'dagster': {'ref': {'name': 'gl_mapping_rules'}}, 'description': 'Mapping rules are unambiguous. No two rules of the GL mapping seed apply to the same category, currency and entity. When it fails: keep one of the rows named in dbt_project/seeds/gl_mapping_rules.csv, then run the ledger again.'}) }}
-- Configuration: no two mapping rules for the same key (match_on, match_value, currency, entity),
-- blank currency and entity included. Returns each duplicated key with its rules' accounts.

select
    match_on,
    match_value,
    coalesce(currency, '(any currency)') as currency,
    coalesce(entity_id, '(any entity)') as entity_id,
    count(*) as rules,
    string_agg(gross_account_code, ', ') as gross_account_codes
from {{ ref('gl_mapping_rules') }}
group by all
having count(*) > 1
