{#- dbt's `unique` test, keyed by a 64-bit hash of the value: grouping ten million ids by a number
    is much cheaper than by the id itself. Only values sharing a hash, normally none, are then
    grouped by value, so a repeated value is returned with its count exactly as dbt's own test
    returns it, and two values whose hashes merely collide are not reported. -#}
{% test unique(model, column_name) %}
    with

    shared_hashes as (

        select hash({{ column_name }}) as value_hash
        from {{ model }}
        where {{ column_name }} is not null
        group by value_hash
        having count(*) > 1

    )

    select
        {{ column_name }} as unique_field,
        count(*) as n_records
    from {{ model }}
    where hash({{ column_name }}) in (select value_hash from shared_hashes)
    group by {{ column_name }}
    having count(*) > 1
{% endtest %}
