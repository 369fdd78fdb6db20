{#- Seed rows on Spark as SQL literals. dbt-spark's own loader binds each value by Python string
    formatting in `session` mode: an empty cell arrives as the text 'None' (a mapping rule without
    a fee account then names account 'None') and every number passes through float (an FX rate of
    decimal(38, 12) loses digits). Here an empty cell is null and a number is its exact text, cast
    to the column's type, so a seed reads the same on Spark as on DuckDB. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set types = [] -%}
    {%- for column_name in agate_table.column_names -%}
        {%- do types.append(column_override.get(column_name, adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
            ({%- for value in row -%}
                {{ seed_literal(value, types[loop.index0]) }}{{ ', ' if not loop.last }}
            {%- endfor -%}){{ ',' if not loop.last }}
            {% endfor %}
        {%- endset -%}
        {%- do run_query(sql) -%}
        {%- do statements.append(sql) -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}

{#- One CSV value as a Spark literal of `type`: null when empty; else its text, quoted and escaped. -#}
{% macro seed_literal(value, type) -%}
    {%- if value is none -%}
        cast(null as {{ type }})
    {%- else -%}
        cast('{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}' as {{ type }})
    {%- endif -%}
{%- endmacro %}
