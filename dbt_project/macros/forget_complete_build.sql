{#- Every run, whoever runs it (ledger.dbt_build, dagster-dbt, `dbt` by hand), first voids the
    record of the last complete build (ledger.dbt_window_selection): only a build of ledger.dbt_build
    that then succeeds writes it again, so a windowed build narrows to the nodes whose inputs changed
    only after a build that left every node built and proven. On DuckDB only: the record is kept in
    the warehouse file, and a Spark build runs every node. -#}
{% macro forget_complete_build() -%}
    {%- if target.type == 'duckdb' -%}
        drop table if exists close.complete_build_sources
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
