{#- A list column whose items (structs) must all carry `field`: returns the rows where one does not.
    The stored drill-down keeps a record's journal lines in a list; this tests them without
    unnesting millions of lines. -#}
{% test not_null_in_list(model, column_name, field) %}
    select *
    from {{ model }}
    where {{ list_any(column_name, 'item', 'item.' ~ field ~ ' is null') }}
{% endtest %}
