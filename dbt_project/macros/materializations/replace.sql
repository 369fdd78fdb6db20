{#- Tables and views in one statement: `create or replace`, committed with the model's hooks.
    dbt-duckdb's own materializations build beside the old relation, rename it away, rename the new
    one in and drop the old: six statements and their relation-cache bookkeeping per model, about
    20 ms of dbt's Python each, where most of the ledger's models take DuckDB a few milliseconds.
    DuckDB replaces a relation atomically inside the transaction, so readers see the old one until
    the commit, as before. SQL models only; the project has no Python models nor contracts. -#}
{% macro replace_relation_materialization(relation_type) %}
  {%- if model.language != 'sql' -%}
    {{ exceptions.raise_compiler_error("model " ~ model.name ~ " is written in " ~ model.language ~ "; the project's " ~ relation_type ~ " materialization builds SQL models only") }}
  {%- endif -%}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type=relation_type) -%}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {%- if existing_relation is not none and existing_relation.type != relation_type -%}
    {{ adapter.drop_relation(existing_relation) }}
  {%- endif -%}
  {% call statement('main') -%}
    create or replace {{ relation_type }} {{ target_relation }} as (
{{ compiled_code }}
    )
  {%- endcall %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{% endmacro %}

{% materialization table, adapter='duckdb' %}
  {{ return(replace_relation_materialization('table')) }}
{% endmaterialization %}

{% materialization view, adapter='duckdb' %}
  {{ return(replace_relation_materialization('view')) }}
{% endmaterialization %}
