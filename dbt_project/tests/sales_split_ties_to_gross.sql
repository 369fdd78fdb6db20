{{ config(meta={'dagster': {'ref': {'name': 'fct_journal_line_sources'}}, 'description': 'Every sale splits to its gross. Per charge or refund whose sale is split, the revenue, tax and shipping booked less the discounts equal its gross amount. When it fails: the rows name the transactions and each part; check their invoice or credit note (sales_documents_tie_to_totals) and run the ledger again.'}) }}
-- depends_on: {{ ref('fct_journal_line_sources') }}
-- Per balance transaction whose sale the journal books in parts (roles `sale:...`,
-- int_balance_transaction_sales_split): revenue + tax + shipping - discounts = gross, from the
-- lines as booked (posted records, their adjustments and the frozen lines of locked periods), and
-- nothing of it left on the mapping rule's gross line. Returns each culprit with its parts.

with

posted_parts as (

    select
        source_id,
        {{ unnest_fields(list_where('lines', 'line', "line.line_role = 'gross' or line.line_role like 'sale:%'")) }}
    from {{ ref('fct_journal_source_records') }}
    where source_kind = 'balance_transaction'
        and {{ list_length(list_where('lines', 'line', "line.line_role like 'sale:%'")) }} > 0

),

frozen_parts as (

    select source_id, line_role, account_code, amount_minor
    from {{ ref('stg_close__locked_journal_line_sources') }}
    where source_kind = 'balance_transaction'
        and (line_role = 'gross' or line_role like 'sale:%')

),

-- Booked amounts as the sale reads them: revenue, tax and shipping are credits, discounts debits.
parts as (

    select
        source_id as balance_transaction_id,
        coalesce(-sum(amount_minor) filter (where line_role like 'sale:revenue%'), 0) as revenue_minor,
        coalesce(-sum(amount_minor) filter (where line_role like 'sale:tax%'), 0) as tax_minor,
        coalesce(-sum(amount_minor) filter (where line_role = 'sale:shipping'), 0) as shipping_minor,
        coalesce(sum(amount_minor) filter (where line_role like 'sale:discount%'), 0) as discounts_minor,
        coalesce(-sum(amount_minor) filter (where line_role = 'gross'), 0) as unsplit_gross_minor,
        count(*) filter (where line_role like 'sale:%') as sale_lines
    from (
        select source_id, line_role, amount_minor from posted_parts
        union all
        select source_id, line_role, amount_minor from frozen_parts
    )
    group by source_id

)

select
    parts.balance_transaction_id,
    transactions.currency,
    transactions.amount_minor as gross_minor,
    parts.revenue_minor,
    parts.tax_minor,
    parts.shipping_minor,
    parts.discounts_minor,
    parts.unsplit_gross_minor,
    parts.revenue_minor + parts.tax_minor + parts.shipping_minor - parts.discounts_minor - transactions.amount_minor as difference_minor
from parts
inner join {{ ref('stg_stripe__balance_transactions') }} as transactions
    on parts.balance_transaction_id = transactions.balance_transaction_id
where parts.sale_lines > 0
    and parts.revenue_minor + parts.tax_minor + parts.shipping_minor - parts.discounts_minor <> transactions.amount_minor
