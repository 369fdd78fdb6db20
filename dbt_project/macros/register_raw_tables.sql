{#- The raw tables the sources name. On DuckDB ingestion writes them in the warehouse file. On
    Spark they are the parquet folders `ledger.spark_landing` writes under CLOSE_SPARK_DIR/raw,
    declared here as external tables at the start of every build: dropped and declared again, so
    that Spark infers the columns of the files as they are now (dropping an external table keeps
    its files). -#}
{% macro register_raw_tables() -%}
    {{ return(adapter.dispatch('register_raw_tables')()) }}
{%- endmacro %}

{% macro default__register_raw_tables() -%}
{%- endmacro %}

{#- Only the sources the selected nodes read: each declaration infers the columns from the files. -#}
{% macro spark__register_raw_tables() -%}
    {%- if execute -%}
        {%- set raw_dir = env_var('CLOSE_SPARK_DIR', '../.close/spark') ~ '/raw' -%}
        {%- set read = [] -%}
        {%- for unique_id in selected_resources if unique_id in graph.nodes -%}
            {%- do read.extend(graph.nodes[unique_id].depends_on.nodes | select('in', graph.sources) | list) -%}
        {%- endfor -%}
        {%- do run_query('create schema if not exists raw') -%}
        {%- for source in graph.sources.values() | sort(attribute='unique_id') if source.schema == 'raw' and source.unique_id in read -%}
            {%- do run_query('drop table if exists raw.' ~ source.identifier) -%}
            {%- do run_query("create table raw." ~ source.identifier ~ " using parquet location '" ~ raw_dir ~ "/" ~ source.identifier ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
