{#- The charge `metadata` keys rpt_payout_reconciliation prints as `payment_metadata[key]` columns, as
    Stripe's report does when asked for them: CLOSE_PAYOUT_RECONCILIATION_METADATA_KEYS, comma-separated,
    none by default. Each key becomes a quoted column name and a string literal, so only letters,
    digits and `_ - .` are accepted (Stripe keys are at most 40 characters). -#}
{% macro payout_reconciliation_metadata_keys() -%}
    {%- set keys = [] -%}
    {%- for part in (var('payout_reconciliation_metadata_keys') | string).split(',') if part.strip() -%}
        {%- set key = part.strip() -%}
        {%- if not modules.re.match('^[A-Za-z0-9_.-]{1,40}$', key) -%}
            {{ exceptions.raise_compiler_error("CLOSE_PAYOUT_RECONCILIATION_METADATA_KEYS: metadata key '" ~ key ~ "' may only hold letters, digits, '_', '-' and '.' (at most 40)") }}
        {%- endif -%}
        {%- if key not in keys -%}{%- do keys.append(key) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(keys) }}
{%- endmacro %}
