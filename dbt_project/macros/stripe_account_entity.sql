{#- The entity that books a Stripe account's records (seed `entities`). A row without an account
    (landed before rows carried one, or from a source that does not say) books to the default
    entity (var `entity_id`); an account missing from the seed gives null, which
    `assert_every_stripe_account_has_an_entity` reports by account. Pass the column qualified by
    its relation: inside the subquery a bare name would be the seed's own column. -#}
{% macro stripe_account_entity(stripe_account_id) -%}
    coalesce(
        (select entities.entity_id from {{ ref('entities') }} as entities where entities.stripe_account_id = {{ stripe_account_id }}),
        case when {{ stripe_account_id }} is null then '{{ var("entity_id") }}' end
    )
{%- endmacro %}
