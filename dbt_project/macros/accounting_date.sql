{#- The accounting date of a UTC timestamp, in the ledger's reporting time zone. -#}
{% macro accounting_date(utc_timestamp) -%}
    cast(timezone('{{ var("reporting_timezone") }}', timezone('UTC', {{ utc_timestamp }})) as date)
{%- endmacro %}
