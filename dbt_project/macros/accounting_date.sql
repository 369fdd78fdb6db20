{#- The accounting date of a UTC timestamp, in the ledger's reporting time zone. Timestamps are
    stored in UTC, so in UTC it is the timestamp's date: converting ten million timestamps from UTC
    to UTC would cost seconds for nothing. -#}
{% macro accounting_date(utc_timestamp) -%}
    {%- if var("reporting_timezone") == 'UTC' -%}
    cast({{ utc_timestamp }} as date)
    {%- else -%}
    cast({{ local_timestamp(utc_timestamp, var("reporting_timezone")) }} as date)
    {%- endif -%}
{%- endmacro %}
