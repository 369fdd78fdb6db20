{#- The periods locked when the calling model runs (YYYY-MM), read as it compiles. As literals they
    let DuckDB drop the adjusting work outright when nothing is locked and filter early when
    something is, where a join against the locks table would have it compute every source record
    twice. A model calling this must `ref('stg_close__period_locks')`, which is built before it. -#}
{% macro locked_periods() -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set periods = run_query("select period from " ~ ref('stg_close__period_locks') ~ " order by period").columns[0].values() | list -%}
    {%- for period in periods -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}$', period | string) -%}
            {{ exceptions.raise_compiler_error("close.period_locks holds period '" ~ period ~ "'; periods are YYYY-MM") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(periods) }}
{%- endmacro %}

{#- Whether `period_expression` (a YYYY-MM string) is one of `periods`; false for none. -#}
{% macro period_in(period_expression, periods) -%}
    {%- if periods | length == 0 -%}
        false
    {%- else -%}
        {{ period_expression }} in ({% for period in periods %}'{{ period }}'{{ ', ' if not loop.last }}{% endfor %})
    {%- endif -%}
{%- endmacro %}
