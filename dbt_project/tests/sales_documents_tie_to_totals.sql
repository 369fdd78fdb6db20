{{ config(meta={'dagster': {'ref': {'name': 'fct_journal_source_records'}}, 'description': 'Invoice and credit note lines tie to their totals. The lines of every invoice and credit note add up to its subtotal, discounts, tax and total. When it fails: the rows name the document and the figure that differs; a document with lines missing was ingested in part: ingest it again.'}) }}
-- depends_on: {{ ref('fct_journal_source_records') }}
-- Per invoice and credit note the sales split books from: its line items' amounts add up to its
-- subtotal, their discounts to its discounts, their taxes (and shipping's) to its tax, and
-- subtotal - discounts + tax + shipping to its total. A document whose lines were ingested in
-- part would otherwise split a sale short. Returns each document and figure that differs.

with

invoice_lines as (

    select
        invoice_id as document_id,
        sum(amount_minor) as subtotal_minor,
        sum(coalesce(discount_amount_minor, 0)) as discount_minor
    from {{ ref('stg_stripe__invoice_line_items') }}
    group by invoice_id

),

invoice_taxes as (

    select invoice_id as document_id, sum(amount_minor) as tax_minor
    from {{ ref('stg_stripe__invoice_line_item_taxes') }}
    group by invoice_id

),

credit_note_lines as (

    select
        credit_note_id as document_id,
        sum(amount_minor) as subtotal_minor,
        sum(coalesce(discount_amount_minor, 0)) as discount_minor
    from {{ ref('stg_stripe__credit_note_line_items') }}
    group by credit_note_id

),

credit_note_taxes as (

    select credit_note_id as document_id, sum(amount_minor) as tax_minor
    from {{ ref('stg_stripe__credit_note_line_item_taxes') }}
    group by credit_note_id

),

documents as (

    select
        'invoice' as document_kind,
        invoices.invoice_id as document_id,
        invoices.currency,
        invoices.subtotal_minor,
        coalesce(invoices.total_discount_amount_minor, 0) as discount_minor,
        coalesce(invoices.total_tax_amount_minor, 0) as tax_minor,
        coalesce(invoices.shipping_minor, 0) as shipping_minor,
        invoices.total_minor,
        coalesce(lines.subtotal_minor, 0) as lines_subtotal_minor,
        coalesce(lines.discount_minor, 0) as lines_discount_minor,
        coalesce(taxes.tax_minor, 0) + coalesce(invoices.shipping_tax_amount_minor, 0) as lines_tax_minor
    from {{ ref('stg_stripe__invoices') }} as invoices
    left join invoice_lines as lines
        on invoices.invoice_id = lines.document_id
    left join invoice_taxes as taxes
        on invoices.invoice_id = taxes.document_id
    union all
    select
        'credit_note',
        notes.credit_note_id,
        notes.currency,
        notes.subtotal_minor,
        coalesce(notes.discount_amount_minor, 0),
        coalesce(notes.total_tax_amount_minor, 0),
        coalesce(notes.shipping_minor, 0),
        notes.total_minor,
        coalesce(lines.subtotal_minor, 0),
        coalesce(lines.discount_minor, 0),
        coalesce(taxes.tax_minor, 0)
    from {{ ref('stg_stripe__credit_notes') }} as notes
    left join credit_note_lines as lines
        on notes.credit_note_id = lines.document_id
    left join credit_note_taxes as taxes
        on notes.credit_note_id = taxes.document_id

),

figures as (

    select document_kind, document_id, currency, 'subtotal' as figure, subtotal_minor as document_minor, lines_subtotal_minor as lines_minor
    from documents
    union all
    select document_kind, document_id, currency, 'discounts', discount_minor, lines_discount_minor
    from documents
    union all
    select document_kind, document_id, currency, 'tax', tax_minor, lines_tax_minor
    from documents
    union all
    select document_kind, document_id, currency, 'total', total_minor,
        lines_subtotal_minor - lines_discount_minor + lines_tax_minor + shipping_minor
    from documents

)

select *, lines_minor - document_minor as difference_minor
from figures
where document_minor is distinct from lines_minor
