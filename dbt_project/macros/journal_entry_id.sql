{#- Deterministic external id of a summarized journal entry: same input, same id, so re-exports upsert.
    Only [A-Za-z0-9_-], as NetSuite external ids require. -#}
{% macro journal_entry_id(entity_id, accounting_date, currency) -%}
    'STRIPE-' || {{ entity_id }} || '-' || strftime({{ accounting_date }}, '%Y%m%d') || '-' || upper({{ currency }})
{%- endmacro %}
