{#- An amount in minor units of one currency, in minor units of another at `rate` (1 major unit =
    rate major units): exact decimal arithmetic, rounded once to the target's minor unit, half away
    from zero (DuckDB's round on DECIMAL). Translation and revaluation both use it, so they agree to
    the unit. Exponents default to 2 for a currency the seed does not list. -#}
{% macro to_functional_minor(amount_minor, rate, from_exponent, to_exponent) -%}
    cast(round(
        cast({{ amount_minor }} as decimal(38, 0)) * {{ rate }}
        * cast(pow(10, coalesce({{ to_exponent }}, 2) - coalesce({{ from_exponent }}, 2)) as decimal(38, 6))
    ) as bigint)
{%- endmacro %}
