{#- The close window of a partition run: dbt vars `close_window_start` and `close_window_end`
    (YYYY-MM-DD, end exclusive), e.g. yesterday and today for an hourly continuous close. Without
    them a build covers everything. Returns none or (start, end). -#}
{% macro close_window() -%}
    {%- set start = var('close_window_start', none) -%}
    {%- set end = var('close_window_end', none) -%}
    {%- if start is none and end is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for name, value in [('close_window_start', start), ('close_window_end', end)] -%}
        {%- if value is none or not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value | string) -%}
            {{ exceptions.raise_compiler_error(name ~ " is '" ~ value ~ "'; give close_window_start and close_window_end as YYYY-MM-DD (end exclusive), or neither") }}
        {%- endif -%}
    {%- endfor -%}
    {%- if (end | string) <= (start | string) -%}
        {{ exceptions.raise_compiler_error("close_window_end " ~ end ~ " is not after close_window_start " ~ start) }}
    {%- endif -%}
    {{ return((start | string, end | string)) }}
{%- endmacro %}

{#- The rows of a journal model that a build rewrites: inside a close window, those dated in it and
    every adjusting row (adjustments are dated the first day of an open period, whatever late fact
    caused them, and stay few); without a window, all of them. -#}
{% macro close_window_scope() -%}
    {%- set window = close_window() -%}
    {%- if window is none -%}
        true
    {%- else -%}
        ((accounting_date >= date '{{ window[0] }}' and accounting_date < date '{{ window[1] }}') or is_adjustment)
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of the incremental journal models: delete what this build rewrites (delete+insert on
    the accounting date inside the window). A first build or --full-refresh creates the table whole. -#}
{% macro delete_close_window_scope() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ close_window_scope() }}
    {%- endif -%}
{%- endmacro %}
