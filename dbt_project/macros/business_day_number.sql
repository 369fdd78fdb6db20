{#- Business days, for matching windows and exception ages: the difference of two numbers of one
    currency is the number of business days between the dates. Monday to Friday, minus the holidays
    of the currency's settlement calendar (seed bank_holidays, numbered in int_bank_business_days);
    a weekend day or a holiday counts as the next business day. Dates outside the calendar's span,
    and currencies without holidays, count weekdays only. -#}
{% macro business_day_number(date_expression, currency_expression) -%}
    coalesce(
        (
            select business_days.business_day_number
            from {{ ref('int_bank_business_days') }} as business_days
            where business_days.currency = {{ currency_expression }}
                and business_days.calendar_date = {{ date_expression }}
        ),
        {{ weekday_number(date_expression) }}
    )
{%- endmacro %}

{#- Monday-to-Friday days counted from Monday 1970-01-05 (a weekend day gets the Monday after's number). -#}
{% macro weekday_number(date_expression) -%}
    ({{ integer_divide(days_between("date '1970-01-05'", date_expression), 7) }} * 5
        + least({{ days_between("date '1970-01-05'", date_expression) }} % 7, 5))
{%- endmacro %}
