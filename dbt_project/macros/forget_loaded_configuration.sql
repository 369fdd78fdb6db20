{#- A run that loads any seed, whoever runs it (ledger.dbt_build, dagster-dbt, `dbt seed` by hand),
    first voids the record of the accounting configuration the warehouse holds: only a build that
    then succeeds records it again (ledger.dbt_seeds). Once per run, before any node: a drop from
    each seed, on parallel threads, would conflict. -#}
{% macro forget_loaded_configuration() -%}
    {%- set seeds = [] -%}
    {%- for unique_id in selected_resources if unique_id.startswith('seed.') -%}
        {%- do seeds.append(unique_id) -%}
    {%- endfor -%}
    {%- if seeds -%}
        drop table if exists accounting.configuration_loaded
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
