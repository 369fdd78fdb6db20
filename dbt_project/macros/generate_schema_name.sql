{#- Custom schemas are used as given (`accounting`, not `main_accounting`): the exporters read them by name. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}
