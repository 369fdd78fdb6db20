{#- The close window of a partition run: settings CLOSE_WINDOW_START and CLOSE_WINDOW_END
    (YYYY-MM-DD, end exclusive), e.g. yesterday and today for an hourly continuous close; empty or
    unset, a build covers everything. Environment settings rather than dbt vars: they are read as
    the models compile, so a new window keeps dbt's partial parse, where new `--vars` make dbt parse
    the whole project again. Returns none or (start, end). -#}
{% macro close_window() -%}
    {%- set start = env_var('CLOSE_WINDOW_START', '') or none -%}
    {%- set end = env_var('CLOSE_WINDOW_END', '') or none -%}
    {%- if start is none and end is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for name, value in [('CLOSE_WINDOW_START', start), ('CLOSE_WINDOW_END', end)] -%}
        {%- if value is none or not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value | string) -%}
            {{ exceptions.raise_compiler_error(name ~ " is '" ~ value ~ "'; give CLOSE_WINDOW_START and CLOSE_WINDOW_END as YYYY-MM-DD (end exclusive), or neither") }}
        {%- endif -%}
    {%- endfor -%}
    {%- if (end | string) <= (start | string) -%}
        {{ exceptions.raise_compiler_error("CLOSE_WINDOW_END " ~ end ~ " is not after CLOSE_WINDOW_START " ~ start) }}
    {%- endif -%}
    {{ return((start | string, end | string)) }}
{%- endmacro %}

{#- The rows of a journal model that a build rewrites: inside a close window, those dated on the
    days int_journal_rebuild_days lists (the window's, and those of facts that arrived late) and
    every adjusting row (adjustments are dated the first day of an open period, whatever late fact
    caused them, and stay few); without a window, or when that list says every day, all of them. -#}
{% macro close_window_scope() -%}
    {%- set days = journal_rebuild_days() -%}
    {%- if days is none -%}
        true
    {%- else -%}
        ({{ day_in('accounting_date', days) }} or is_adjustment)
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of the incremental journal models: delete what this build rewrites (delete+insert on
    the accounting date inside the window). A first build or --full-refresh creates the table whole. -#}
{% macro delete_close_window_scope() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ close_window_scope() }}
    {%- endif -%}
{%- endmacro %}

{#- Whether the date `date_expression` is one of `days` (YYYY-MM-DD strings, at least one). -#}
{% macro day_in(date_expression, days) -%}
    {{ date_expression }} in ({% for day in days %}date '{{ day }}'{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}
