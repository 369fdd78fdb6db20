{{ config(materialized='table') }}

{#- The sales documents' parts, by name in both (Spark has no union by name). -#}
{% set component_columns = 'document_id, entity_id, component_kind, product_id, revenue_category, tax_rate_id,'
    ~ ' jurisdiction, account_code, is_unknown_product, amount_minor, kind_order, line_position, tax_position' %}
{#- What a transaction's part carries, from the transaction (documented) or the part (components):
    the whole and the pro-rata parts select them alike. -#}
{% set part_columns = [
    ('documented', 'balance_transaction_id'), ('documented', 'entity_id'), ('documented', 'currency'),
    ('documented', 'accounting_date'), ('documented', 'split_basis'), ('documented', 'document_id'),
    ('documented', 'refund_id'), ('components', 'component_kind'), ('components', 'product_id'),
    ('components', 'revenue_category'), ('components', 'tax_rate_id'), ('components', 'jurisdiction'),
    ('components', 'account_code'), ('components', 'is_unknown_product'),
] %}

-- What each charge and refund sold, as the journal books it in place of one gross line: one row
-- per balance transaction and part of its sale (revenue per product, discounts, tax per tax rate,
-- shipping), with the part's account and signed journal amount (debit positive). The rows of a
-- transaction add up to its gross amount negated exactly; the journal books what they leave of
-- the gross (nothing, for a complete split) on the mapping rule's account.
--   * `invoice`: a charge paying an invoice (invoice payments, by payment intent) books the
--     invoice's parts (int_sales_document_components);
--   * `credit_note`: a refund a credit note accounts for books the credit note's parts;
--   * `invoice_pro_rata`: a refund without a credit note books its charge's invoice's parts pro rata;
--   * `tax_reversal`: a refund of a charge without an invoice that names a Stripe Tax reversal books
--     the reversal's tax exactly and the rest to revenue (int_stripe_tax_reversal_components);
--   * `charge`, `charge_pro_rata`: a charge without an invoice, and its refunds, book to the revenue
--     account of its metadata category (seeds/gl_revenue_accounts.csv, `match_on` metadata), else
--     the policy's `uninvoiced_account_code`, less any tax int_uninvoiced_charge_taxes gives it (a
--     refund without a Stripe Tax reversal pro rata); with no account, no row (the mapping rule's
--     account keeps the gross).
-- Pro rata: each part takes amount x part / document total, truncated toward zero in integer
-- minor units; what the truncation leaves (less than one minor unit per part) goes to the
-- document's first part, the revenue line of its first line item (the first by kind, line and
-- tax position). A transaction that pays or refunds its whole document books its parts exactly.
-- A table: the journal, the revenue and tax marts and their proofs read it.
-- Most transactions move exactly their document's total (a charge paying its invoice, a refund
-- its credit note): their parts are the document's, with no division and no remainder; only the
-- others (pro rata) are divided, ranked and summed per transaction. One join each: the
-- transactions to the charges and refunds (one list of sale sources), to their documents' totals
-- and to the documents' parts, by document id (Stripe ids are unique across object types).

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

    select charge_id, invoice_id from {{ ref('int_charge_sales_documents') }}

),

credit_notes_by_refund as (

    select refund_id, min(credit_note_id) as credit_note_id
    from {{ ref('stg_stripe__credit_notes') }}
    where refund_id is not null
    group by refund_id

),

tax_reversals_by_refund as (

    select refund_id, tax_transaction_id as tax_reversal_id
    from {{ ref('int_refund_stripe_tax_reversals') }}

),

-- The document each charge and refund books from: its credit note, else its charge's invoice,
-- else its Stripe Tax reversal, else its charge (int_sales_document_components lists a charge
-- only when its account is known).
sale_sources as (

    select
        charge_id as source_id,
        cast(null as string) as refund_id,
        coalesce(invoice_id, charge_id) as document_id,
        case when invoice_id is not null then 'invoice' else 'charge' end as split_basis
    from charges
    union all
    select
        refunds.refund_id,
        refunds.refund_id,
        coalesce(credit_notes_by_refund.credit_note_id, charges.invoice_id, tax_reversals_by_refund.tax_reversal_id, refunds.charge_id),
        case
            when credit_notes_by_refund.credit_note_id is not null then 'credit_note'
            when charges.invoice_id is not null then 'invoice_pro_rata'
            when tax_reversals_by_refund.tax_reversal_id is not null then 'tax_reversal'
            else 'charge_pro_rata'
        end
    from {{ ref('stg_stripe__refunds') }} as refunds
    left join charges
        on refunds.charge_id = charges.charge_id
    left join credit_notes_by_refund
        on refunds.refund_id = credit_notes_by_refund.refund_id
    left join tax_reversals_by_refund
        on refunds.refund_id = tax_reversals_by_refund.refund_id

),

-- Read three times (totals, whole and pro rata parts): each reads the tables, rather than a copy.
components as {{ inlined_cte() }} (

    select {{ component_columns }} from {{ ref('int_sales_document_components') }}
    union all
    select {{ component_columns }} from {{ ref('int_stripe_tax_reversal_components') }}

),

document_totals as (

    select document_id, sum(amount_minor) as total_minor
    from components
    group by document_id

),

-- Materialized: the whole and the pro rata parts read it, each its own transactions.
documented as {{ materialized_cte() }} (

    select
        transactions.balance_transaction_id,
        transactions.entity_id,
        transactions.currency,
        transactions.accounting_date,
        transactions.amount_minor,
        sale_sources.refund_id,
        sale_sources.document_id,
        sale_sources.split_basis,
        document_totals.total_minor as document_total_minor,
        -- Whether the transaction moves its document's whole total, either way.
        abs(transactions.amount_minor) = abs(document_totals.total_minor) as moves_whole_document
    from transactions
    inner join sale_sources
        on transactions.source_id = sale_sources.source_id
    inner join document_totals
        on sale_sources.document_id = document_totals.document_id
    where document_totals.total_minor <> 0

),

-- A transaction moving its document's whole total books the parts themselves (negated for a
-- refund of a charge's document).
whole_parts as (

    select
        {% for source, column in part_columns %}{{ source }}.{{ column }},{% endfor %}
        case when documented.amount_minor = documented.document_total_minor
            then components.amount_minor else -components.amount_minor
        end as share_minor
    from documented
    inner join components
        on documented.document_id = components.document_id
    where documented.moves_whole_document

),

-- The others take each part x amount / total, truncated toward zero (so a refund's shares mirror
-- a charge's); the first part (revenue lines first by position) is ranked here, among the few
-- transactions divided, and takes what the truncation leaves.
pro_rata_shares as (

    select
        {% for source, column in part_columns %}{{ source }}.{{ column }},{% endfor %}
        documented.amount_minor as transaction_amount_minor,
        cast({{ integer_divide('cast(documented.amount_minor as ' ~ wide_integer() ~ ') * components.amount_minor', 'documented.document_total_minor') }} as bigint) as share_minor,
        row_number() over (
            partition by documented.balance_transaction_id
            order by components.kind_order, components.line_position nulls last, components.tax_position nulls last, components.account_code
        ) as part_rank
    from documented
    inner join components
        on documented.document_id = components.document_id
    where not documented.moves_whole_document

),

documented_parts as (

    select * from whole_parts
    union all
    select
        {% for _, column in part_columns %}{{ column }},{% endfor %}
        share_minor + case
            when part_rank = 1
                then transaction_amount_minor - sum(share_minor) over (partition by balance_transaction_id)
            else 0
        end
    from pro_rata_shares

),

final as (

    select
        ---------- ids
        balance_transaction_id,
        entity_id,
        refund_id,
        document_id,
        product_id,
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
