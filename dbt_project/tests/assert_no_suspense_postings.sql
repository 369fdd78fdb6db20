{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'rpt_suspense_postings'}}, 'description': 'Nothing in suspense (warning). Lists money booked to the suspense account for a person to review; it never blocks. When it fails: add a mapping rule for the category (dbt_project/seeds/gl_mapping_rules.csv) or book a correction, then run the ledger again.'}) }}
-- Warning: money booked to suspense, for a person to review (it never blocks an export). Lists
-- each posting with its reason: unmapped (add a rule to seeds/gl_mapping_rules.csv) or mapped to
-- suspense by a rule on purpose (reclassify it in the ERP once explained), and its age in days.

select
    entity_id,
    balance_transaction_id,
    accounting_date,
    currency,
    suspense_amount_minor,
    age_days,
    reason
from {{ ref('rpt_suspense_postings') }}
