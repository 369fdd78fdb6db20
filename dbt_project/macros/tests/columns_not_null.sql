{#- The columns of a model that must never be empty, in one test: returns each row with an empty
    one, and which (`null_columns`). One scan and one dbt node instead of one per column: the
    ledger's 60 column checks were a third of a build's nodes, and each node costs dbt more time
    than DuckDB takes to check a column. -#}
{% test columns_not_null(model, columns) %}
    select
        list_filter(
            [{% for column in columns %}case when {{ column }} is null then '{{ column }}' end{{ ', ' if not loop.last }}{% endfor %}],
            lambda name: name is not null
        ) as null_columns,
        *
    from {{ model }}
    where {% for column in columns %}{{ column }} is null{{ ' or ' if not loop.last }}{% endfor %}
{% endtest %}
