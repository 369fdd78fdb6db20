{#- Deterministic external id of a journal entry: same input, same id, so re-exports upsert.
    `entry_key` is the granularity's key (a date and currency, a payout, a transaction).
    Only [A-Za-z0-9_-], as NetSuite external ids require. -#}
{% macro journal_entry_id(entity_id, entry_key) -%}
    'STRIPE-' || {{ entity_id }} || '-' || {{ entry_key }}
{%- endmacro %}

{#- The daily summary key: date and currency. -#}
{% macro daily_entry_key(accounting_date, currency) -%}
    {{ format_date(accounting_date, '%Y%m%d') }} || '-' || upper({{ currency }})
{%- endmacro %}

{#- The journal granularity chosen in config: daily (default), payout or transaction. -#}
{% macro journal_granularity() -%}
    {%- set granularity = var('journal_granularity') -%}
    {%- if granularity not in ['daily', 'payout', 'transaction'] -%}
        {{ exceptions.raise_compiler_error("journal_granularity is '" ~ granularity ~ "'; choose daily, payout or transaction (CLOSE_JOURNAL_GRANULARITY)") }}
    {%- endif -%}
    {{ return(granularity) }}
{%- endmacro %}

{#- One journal line of a source record: its role, account and signed amount (debit positive). -#}
{% macro journal_line(line_role, account_code, amount_minor) -%}
    {{ struct_of([('line_role', line_role), ('account_code', account_code), ('amount_minor', 'cast(' ~ amount_minor ~ ' as bigint)')]) }}
{%- endmacro %}
