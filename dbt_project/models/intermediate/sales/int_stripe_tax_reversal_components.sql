-- The parts of each Stripe Tax reversal as a sales document (`tax_reversal`, the reversal's id),
-- in the columns of int_sales_document_components, which the sales split books a refund naming it
-- from: the tax it gives back to its charge's tax account of that jurisdiction (else the policy's
-- default tax account), then the rest of the refund to its charge's revenue account. They add up
-- to the refund's amount, so the refund books them exactly, whatever its size. Only refunds of a
-- charge without an invoice whose revenue account is known (a `charge` document) have one.

with

reversals as (

    select * from {{ ref('int_refund_stripe_tax_reversals') }}

),

refunds as (

    select refund_id, amount_minor from {{ ref('stg_stripe__refunds') }}

),

charge_components as (

    select * from {{ ref('int_sales_document_components') }}
    where document_kind = 'charge'

),

-- The account each charge's tax of a jurisdiction booked to.
charge_tax_accounts as (

    select document_id as charge_id, jurisdiction, min(account_code) as account_code
    from charge_components
    where component_kind = 'tax'
    group by document_id, jurisdiction

),

policies as (

    select * from {{ ref('int_sales_policies') }}

),

documents as (

    select
        reversals.tax_transaction_id,
        reversals.jurisdiction,
        reversals.reversed_tax_minor,
        refunds.amount_minor as refund_minor,
        revenue.entity_id,
        revenue.revenue_category,
        revenue.account_code as revenue_account_code,
        coalesce(charge_tax_accounts.account_code, policies.default_tax_account_code) as tax_account_code
    from reversals
    inner join refunds
        on reversals.refund_id = refunds.refund_id
    inner join charge_components as revenue
        on reversals.charge_id = revenue.document_id
        and revenue.component_kind = 'revenue'
    inner join policies
        on revenue.entity_id = policies.entity_id
    left join charge_tax_accounts
        on reversals.charge_id = charge_tax_accounts.charge_id
        and reversals.jurisdiction is not distinct from charge_tax_accounts.jurisdiction

),

unioned as (

    select
        tax_transaction_id as document_id, entity_id, 'revenue' as component_kind, revenue_category,
        null as jurisdiction, revenue_account_code as account_code, refund_minor - reversed_tax_minor as amount_minor,
        0 as kind_order
    from documents
    union all
    select
        tax_transaction_id, entity_id, 'tax', null,
        jurisdiction, tax_account_code, reversed_tax_minor,
        2
    from documents
    where reversed_tax_minor <> 0

),

final as (

    select
        'tax_reversal' as document_kind,
        document_id,
        entity_id,
        component_kind,
        cast(null as string) as product_id,
        revenue_category,
        cast(null as string) as tax_rate_id,
        jurisdiction,
        account_code,
        false as is_unknown_product,
        cast(amount_minor as bigint) as amount_minor,
        -- Ordered as int_sales_document_components' parts: revenue (kind 0) before tax (kind 2).
        kind_order,
        cast(null as bigint) as line_position,
        cast(null as bigint) as tax_position
    from unioned

)

select * from final
