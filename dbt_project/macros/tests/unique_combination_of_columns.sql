{#- Fails with one row per key that occurs more than once, naming the key and how often.
    (dbt_utils has the same test; the project keeps no package dependencies for one macro.) -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    select
        {{ combination_of_columns | join(', ') }},
        count(*) as occurrences
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}
