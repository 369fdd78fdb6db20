{#- Monday-to-Friday days counted from Monday 1970-01-05: the difference of two such numbers is the
    number of business days between the dates (a weekend day counts as the Friday before it).
    No holiday calendar yet. -#}
{% macro business_day_number(date_expression) -%}
    ((date_diff('day', date '1970-01-05', {{ date_expression }}) // 7) * 5
        + least(date_diff('day', date '1970-01-05', {{ date_expression }}) % 7, 5))
{%- endmacro %}
