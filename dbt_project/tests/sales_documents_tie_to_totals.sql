{{ config(meta={'dagster': {'ref': {'name': 'fct_journal_source_records'}}, 'description': 'Invoice and credit note lines tie to their totals. The lines of every invoice and credit note add up to its subtotal, discounts, tax and total. When it fails: the rows name the document and the figure that differs; a document with lines missing was ingested in part: ingest it again.'}) }}
-- depends_on: {{ ref('fct_journal_source_records') }}
-- Per invoice and credit note the sales split books from: its line items' amounts add up to its
-- subtotal, their discounts to its discounts, their taxes (and shipping's) to its tax, and
-- subtotal - discounts + tax + shipping to its total. A document whose lines were ingested in
-- part would otherwise split a sale short. Returns each document and figure that differs.
-- Both kinds of document keep the same figures, under these names: one query checks both.

{%- set document_kinds = [
    {'kind': 'invoice', 'documents': 'stg_stripe__invoices', 'id': 'invoice_id', 'lines': 'stg_stripe__invoice_line_items',
     'taxes': 'stg_stripe__invoice_line_item_taxes', 'discount': 'total_discount_amount_minor', 'shipping_tax': 'shipping_tax_amount_minor'},
    {'kind': 'credit_note', 'documents': 'stg_stripe__credit_notes', 'id': 'credit_note_id', 'lines': 'stg_stripe__credit_note_line_items',
     'taxes': 'stg_stripe__credit_note_line_item_taxes', 'discount': 'discount_amount_minor', 'shipping_tax': none},
] %}

with

documents as (

    {%- for document in document_kinds %}
    {% if not loop.first %}union all{% endif %}
    select
        '{{ document.kind }}' as document_kind,
        documents.{{ document.id }} as document_id,
        documents.currency,
        documents.subtotal_minor,
        coalesce(documents.{{ document.discount }}, 0) as discount_minor,
        coalesce(documents.total_tax_amount_minor, 0) as tax_minor,
        coalesce(documents.shipping_minor, 0) as shipping_minor,
        documents.total_minor,
        coalesce(lines.subtotal_minor, 0) as lines_subtotal_minor,
        coalesce(lines.discount_minor, 0) as lines_discount_minor,
        coalesce(taxes.tax_minor, 0)
        {%- if document.shipping_tax %} + coalesce(documents.{{ document.shipping_tax }}, 0){% endif %} as lines_tax_minor
    from {{ ref(document.documents) }} as documents
    left join (
        select {{ document.id }}, sum(amount_minor) as subtotal_minor, sum(coalesce(discount_amount_minor, 0)) as discount_minor
        from {{ ref(document.lines) }}
        group by {{ document.id }}
    ) as lines
        on documents.{{ document.id }} = lines.{{ document.id }}
    left join (
        select {{ document.id }}, sum(amount_minor) as tax_minor
        from {{ ref(document.taxes) }}
        group by {{ document.id }}
    ) as taxes
        on documents.{{ document.id }} = taxes.{{ document.id }}
    {%- endfor %}

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
