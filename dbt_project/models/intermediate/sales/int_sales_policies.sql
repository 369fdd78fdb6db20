{{ config(materialized='table') }}

-- The sales policy of each entity (seeds/gl_sales_policy.csv): its own row, else the row without
-- an entity. One row per entity of seeds/entities.csv; an entity without either books no split
-- (the rule's account keeps the gross) and fails the seed's tests first.
-- A table: every split line reads it, and it has a handful of rows.

with

entities as (

    select entity_id from {{ ref('entities') }}

),

policies as (

    select * from {{ ref('gl_sales_policy') }}

),

final as (

    select
        entities.entity_id,
        policies.discount_treatment,
        policies.discount_account_code,
        policies.shipping_account_code,
        policies.default_revenue_account_code,
        policies.default_tax_account_code,
        policies.uninvoiced_metadata_key,
        policies.uninvoiced_account_code
    from entities
    inner join policies
        on coalesce(policies.entity_id, entities.entity_id) = entities.entity_id
    qualify row_number() over (partition by entities.entity_id order by policies.entity_id nulls last) = 1

)

select * from final
