{#- The account each row of `keys` (a relation with `entity_id` and the key columns `matches` name)
    takes from `rules` (a seed with match_on, match_value, entity_id, account_code): the rule that
    fits it most specifically, an entity's own rule before one for every entity, then the earlier
    of `matches` ((match_on, key column) pairs, most specific first). One row per key with a
    fitting rule: its entity_id, key columns and account_code. -#}
{% macro most_specific_rule(keys, rules, matches) -%}
    select
        {{ keys }}.entity_id,
        {%- for _, column in matches %}
        {{ keys }}.{{ column }},
        {%- endfor %}
        {{ rules }}.account_code
    from {{ keys }}
    inner join {{ rules }}
        on coalesce({{ rules }}.entity_id, {{ keys }}.entity_id) = {{ keys }}.entity_id
        and (
            {%- for match_on, column in matches %}
            {% if not loop.first %}or {% endif %}({{ rules }}.match_on = '{{ match_on }}' and {{ rules }}.match_value = {{ keys }}.{{ column }})
            {%- endfor %}
        )
    qualify row_number() over (
        partition by {{ keys }}.entity_id{% for _, column in matches %}, {{ keys }}.{{ column }}{% endfor %}
        order by
            case when {{ rules }}.entity_id is not null then 0 else 1 end,
            case {{ rules }}.match_on{% for match_on, _ in matches %} when '{{ match_on }}' then {{ loop.index }}{% endfor %} end
    ) = 1
{%- endmacro %}
