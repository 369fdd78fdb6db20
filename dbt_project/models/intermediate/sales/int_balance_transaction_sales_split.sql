{{ config(materialized='table') }}

-- What each charge and refund sold, as the journal books it in place of one gross line: one row
-- per balance transaction and part of its sale (revenue per product, discounts, tax per tax rate,
-- shipping), with the part's account and signed journal amount (debit positive). The rows of a
-- transaction add up to its gross amount negated exactly; the journal books what they leave of
-- the gross (nothing, for a complete split) on the mapping rule's account.
--   * `invoice`: a charge paying an invoice (invoice payments, by payment intent) books the
--     invoice's parts (int_sales_document_components);
--   * `credit_note`: a refund a credit note accounts for books the credit note's parts;
--   * `invoice_pro_rata`: a refund without a credit note books its charge's invoice's parts pro rata;
--   * `charge`, `charge_pro_rata`: a charge without an invoice, and its refunds, book to the revenue
--     account of its metadata category (seeds/gl_revenue_accounts.csv, `match_on` metadata), else
--     the policy's `uninvoiced_account_code`, less any tax int_uninvoiced_charge_taxes gives it;
--     with no account, no row (the mapping rule's account keeps the gross).
-- Pro rata: each part takes amount x part / document total, truncated toward zero in integer
-- minor units; what the truncation leaves (less than one minor unit per part) goes to the
-- document's first part, the revenue line of its first line item (component_order 1). A
-- transaction that pays or refunds its whole document therefore books its parts exactly.
-- A table: the journal, the revenue and tax marts and their proofs read it.

with

transactions as (

    select
        balance_transaction_id,
        entity_id,
        currency,
        source_id,
        amount_minor,
        {{ accounting_date('created_at') }} as accounting_date
    from {{ ref('stg_stripe__balance_transactions') }}
    where amount_minor <> 0

),

charges as (

    select * from {{ ref('int_charge_sales_documents') }}

),

refunds as (

    select refund_id, charge_id from {{ ref('stg_stripe__refunds') }}

),

credit_notes_by_refund as (

    select refund_id, min(credit_note_id) as credit_note_id
    from {{ ref('stg_stripe__credit_notes') }}
    where refund_id is not null
    group by refund_id

),

sales_sources as (

    select
        transactions.*,
        charges.charge_id,
        null as refund_id,
        charges.invoice_id,
        null as credit_note_id
    from transactions
    inner join charges
        on transactions.source_id = charges.charge_id
    union all
    select
        transactions.*,
        refunds.charge_id,
        refunds.refund_id,
        charges.invoice_id,
        credit_notes_by_refund.credit_note_id
    from transactions
    inner join refunds
        on transactions.source_id = refunds.refund_id
    left join charges
        on refunds.charge_id = charges.charge_id
    left join credit_notes_by_refund
        on refunds.refund_id = credit_notes_by_refund.refund_id

),

components as {{ materialized_cte() }} (

    select * from {{ ref('int_sales_document_components') }}

),

document_totals as (

    select document_kind, document_id, sum(amount_minor) as total_minor
    from components
    group by all

),

-- The document each transaction books from: its credit note, else its charge's invoice, else
-- its charge (int_sales_document_components lists a charge only when its account is known).
documented as (

    select
        *,
        case
            when credit_note_id is not null then 'credit_note'
            when invoice_id is not null then 'invoice'
            else 'charge'
        end as document_kind,
        coalesce(credit_note_id, invoice_id, charge_id) as document_id,
        case
            when credit_note_id is not null then 'credit_note'
            when invoice_id is not null then case when refund_id is null then 'invoice' else 'invoice_pro_rata' end
            else case when refund_id is null then 'charge' else 'charge_pro_rata' end
        end as split_basis
    from sales_sources

),

allocated as (

    select
        documented.balance_transaction_id,
        documented.entity_id,
        documented.currency,
        documented.accounting_date,
        documented.amount_minor as transaction_amount_minor,
        documented.split_basis,
        documented.document_kind,
        documented.document_id,
        documented.charge_id,
        documented.refund_id,
        components.component_kind,
        components.component_order,
        components.product_id,
        components.price_id,
        components.revenue_category,
        components.tax_rate_id,
        components.jurisdiction,
        components.account_code,
        components.is_unknown_product,
        -- Integer division truncates toward zero, so a refund's shares mirror a charge's.
        cast({{ integer_divide('cast(documented.amount_minor as ' ~ wide_integer() ~ ') * components.amount_minor', 'document_totals.total_minor') }} as bigint) as share_minor
    from documented
    inner join document_totals
        on documented.document_kind = document_totals.document_kind
        and documented.document_id = document_totals.document_id
    inner join components
        on documented.document_kind = components.document_kind
        and documented.document_id = components.document_id
    where document_totals.total_minor <> 0

),

documented_parts as (

    select
        {{ star_except(['share_minor', 'transaction_amount_minor', 'component_order']) }},
        share_minor + case
            when component_order = 1
                then transaction_amount_minor - sum(share_minor) over (partition by balance_transaction_id)
            else 0
        end as share_minor
    from allocated

),

final as (

    select
        ---------- ids
        balance_transaction_id,
        entity_id,
        charge_id,
        refund_id,
        document_kind,
        document_id,
        product_id,
        price_id,
        tax_rate_id,
        account_code,

        ---------- strings
        currency,
        split_basis,
        component_kind,
        revenue_category,
        jurisdiction,
        -- What the line is of: the product (or category) sold, the tax rate (or jurisdiction) charged.
        'sale:' || component_kind || coalesce(':' || case component_kind
            when 'tax' then coalesce(tax_rate_id, jurisdiction)
            when 'shipping' then null
            else coalesce(product_id, revenue_category)
        end, '') as line_role,

        ---------- numerics
        -- As the journal books it: a sale's parts are credits, a discount a debit.
        -share_minor as amount_minor,

        ---------- booleans
        is_unknown_product,

        ---------- dates
        accounting_date

    from documented_parts

)

select * from final
