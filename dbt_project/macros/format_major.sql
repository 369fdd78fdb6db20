{#- Minor units as the major-unit text Stripe's report CSVs print: exactly the currency's decimals,
    no grouping ('12.34' USD, '1234' JPY, '1.235' KWD). Integer arithmetic only, never float. -#}
{% macro format_major(amount_minor, exponent) -%}
    case
        when {{ exponent }} = 0 then cast({{ amount_minor }} as string)
        else
            (case when {{ amount_minor }} < 0 then '-' else '' end)
            || cast({{ integer_divide('abs(' ~ amount_minor ~ ')', 'cast(pow(10, ' ~ exponent ~ ') as bigint)') }} as string)
            || '.'
            || lpad(cast(abs({{ amount_minor }}) % cast(pow(10, {{ exponent }}) as bigint) as string), {{ exponent }}, '0')
    end
{%- endmacro %}
