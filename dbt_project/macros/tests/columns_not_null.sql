{#- The columns of a model that must never be empty, in one test: returns each row with an empty
    one, and which (`null_columns`). One scan and one dbt node instead of one per column: the
    ledger's 60 column checks were a third of a build's nodes, and each node costs dbt more time
    than DuckDB takes to check a column. -#}
{% test columns_not_null(model, columns) %}
    select
        {%- set named_if_null = [] %}
        {%- for column in columns %}{% do named_if_null.append("case when " ~ column ~ " is null then '" ~ column ~ "' end") %}{% endfor %}
        {{ list_where(list_of(named_if_null), 'name', 'name is not null') }} as null_columns,
        *
    from {{ model }}
    where {% for column in columns %}{{ column }} is null{{ ' or ' if not loop.last }}{% endfor %}
{% endtest %}
