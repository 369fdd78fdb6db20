{{ config(materialized='table') }}

-- The parts of every sales document, one row each, with its GL account. The documents: invoices,
-- credit notes, and charges without an invoice whose revenue account is known (a metadata rule,
-- else the policy's `uninvoiced_account_code`; charges with neither are not documents).
--   * `revenue`: a line item's amount (net of its discounts when the entity's discount treatment
--     is `net`), to the account of its price, else its product, else the policy's default
--     (seeds/gl_revenue_accounts.csv, most specific first: entity, then price over product, as
--     macros/most_specific_rule.sql resolves it and the tax rules alike); a
--     product Stripe did not list (absent from stg_stripe__products) books to suspense. A charge
--     without an invoice has one revenue part, its captured amount less its tax, to the account of
--     its metadata category;
--   * `discount`: a line item's discounts, negative, to the policy's discount account (contra-
--     revenue treatment only);
--   * `tax`: each tax amount of a line item (or of a charge without an invoice:
--     int_uninvoiced_charge_taxes), to the account of its tax rate, else its jurisdiction, else the
--     policy's default tax account (seeds/gl_tax_accounts.csv); shipping's tax to the default;
--   * `shipping`: the document's shipping amount, to the policy's shipping account.
-- Amounts are signed as they add up to the document's total (discounts negative), in its minor
-- units. A credit note line takes the product and price of the invoice line it credits.
-- `kind_order`, `line_position` and `tax_position` order a document's parts, revenue lines first
-- by position: the first takes the rounding remainder when a payment or refund covers only part of
-- the document (int_balance_transaction_sales_split).
-- A table: the split reads it and its test checks it; as a view each of them computed it again
-- (31 s for the test alone at a million transactions).

with

policies as (

    select * from {{ ref('int_sales_policies') }}

),

invoice_lines as (

    select * from {{ ref('stg_stripe__invoice_line_items') }}

),

credit_note_lines as (

    select
        credit_lines.*,
        invoice_lines.product_id,
        invoice_lines.price_id
    from {{ ref('stg_stripe__credit_note_line_items') }} as credit_lines
    left join invoice_lines
        on credit_lines.invoice_line_item_id = invoice_lines.invoice_line_item_id

),

uninvoiced_charge_taxes as (

    select * from {{ ref('int_uninvoiced_charge_taxes') }}

),

-- Charges without an invoice, with the revenue account of their metadata category: the entity's
-- rule for the value, else the rule for every entity, else the policy's default for them.
metadata_rules as (

    select * from {{ ref('gl_revenue_accounts') }}
    where match_on = 'metadata'

),

uninvoiced_charges as (

    select
        charges.charge_id,
        charges.entity_id,
        charges.revenue_category,
        charges.captured_minor,
        coalesce(
            (select account_code from metadata_rules
             where metadata_rules.match_value = charges.revenue_category and metadata_rules.entity_id = charges.entity_id),
            (select account_code from metadata_rules
             where metadata_rules.match_value = charges.revenue_category and metadata_rules.entity_id is null),
            policies.uninvoiced_account_code
        ) as account_code
    from {{ ref('int_charge_sales_documents') }} as charges
    inner join policies
        on charges.entity_id = policies.entity_id
    where charges.invoice_id is null
        and charges.captured_minor <> 0

),

-- Every line of the three kinds of document, with what it sold. Materialized: five parts read it.
document_lines as {{ materialized_cte() }} (

    select
        'invoice' as document_kind, invoice_id as document_id, invoice_line_item_id as document_line_id,
        entity_id, position, product_id, price_id, null as revenue_category,
        amount_minor, coalesce(discount_amount_minor, 0) as discount_minor
    from invoice_lines
    union all
    select
        'credit_note', credit_note_id, credit_note_line_item_id,
        entity_id, position, product_id, price_id, null,
        amount_minor, coalesce(discount_amount_minor, 0)
    from credit_note_lines
    union all
    select
        'charge', uninvoiced_charges.charge_id, uninvoiced_charges.charge_id,
        uninvoiced_charges.entity_id, 0, null, null, uninvoiced_charges.revenue_category,
        uninvoiced_charges.captured_minor - coalesce(charge_taxes.tax_minor, 0), 0
    from uninvoiced_charges
    left join (
        select charge_id, sum(amount_minor) as tax_minor from uninvoiced_charge_taxes group by charge_id
    ) as charge_taxes
        on uninvoiced_charges.charge_id = charge_taxes.charge_id
    where uninvoiced_charges.account_code is not null

),

documents as (

    select 'invoice' as document_kind, invoice_id as document_id, entity_id, shipping_minor, shipping_tax_amount_minor as shipping_tax_minor
    from {{ ref('stg_stripe__invoices') }}
    union all
    select 'credit_note', credit_note_id, entity_id, shipping_minor, 0
    from {{ ref('stg_stripe__credit_notes') }}

),

line_taxes as {{ materialized_cte() }} (

    select
        'invoice' as document_kind, taxes.invoice_line_item_id as document_line_id, taxes.position as tax_position,
        taxes.tax_rate_id, rates.jurisdiction, taxes.amount_minor
    from {{ ref('stg_stripe__invoice_line_item_taxes') }} as taxes
    left join {{ ref('stg_stripe__tax_rates') }} as rates
        on taxes.tax_rate_id = rates.tax_rate_id
    union all
    select
        'credit_note', taxes.credit_note_line_item_id, taxes.position,
        taxes.tax_rate_id, rates.jurisdiction, taxes.amount_minor
    from {{ ref('stg_stripe__credit_note_line_item_taxes') }} as taxes
    left join {{ ref('stg_stripe__tax_rates') }} as rates
        on taxes.tax_rate_id = rates.tax_rate_id
    union all
    select
        'charge', taxes.charge_id, row_number() over (partition by taxes.charge_id order by taxes.tax_rate_id, taxes.jurisdiction),
        taxes.tax_rate_id, coalesce(taxes.jurisdiction, rates.jurisdiction), taxes.amount_minor
    from uninvoiced_charge_taxes as taxes
    left join {{ ref('stg_stripe__tax_rates') }} as rates
        on taxes.tax_rate_id = rates.tax_rate_id

),

products as (

    select product_id from {{ ref('stg_stripe__products') }}

),

-- The revenue account of each (entity, product, price) sold on an invoice or credit note: a few
-- hundred rows.
sold_keys as (

    select distinct entity_id, product_id, price_id
    from document_lines
    where document_kind <> 'charge'

),

revenue_rules as (

    select * from {{ ref('gl_revenue_accounts') }}
    where match_on in ('product', 'price')

),

revenue_candidates as (

    {{ most_specific_rule('sold_keys', 'revenue_rules', [('price', 'price_id'), ('product', 'product_id')]) }}

),

revenue_accounts as (

    select
        sold_keys.entity_id,
        sold_keys.product_id,
        sold_keys.price_id,
        case
            when products.product_id is null then {{ control_account('suspense') }}
            else coalesce(revenue_candidates.account_code, policies.default_revenue_account_code)
        end as account_code,
        products.product_id is null as is_unknown_product
    from sold_keys
    inner join policies
        on sold_keys.entity_id = policies.entity_id
    left join products
        on sold_keys.product_id = products.product_id
    left join revenue_candidates
        on sold_keys.entity_id = revenue_candidates.entity_id
        and sold_keys.product_id is not distinct from revenue_candidates.product_id
        and sold_keys.price_id is not distinct from revenue_candidates.price_id

),

-- Each tax amount with the line it taxes. Materialized: the tax accounts' keys and the tax parts
-- read it (joining a million taxes to their lines twice cost more than keeping them).
document_line_taxes as {{ materialized_cte() }} (

    select
        document_lines.document_kind,
        document_lines.document_id,
        document_lines.entity_id,
        document_lines.position as line_position,
        document_lines.product_id,
        document_lines.price_id,
        line_taxes.tax_position,
        line_taxes.tax_rate_id,
        line_taxes.jurisdiction,
        line_taxes.amount_minor
    from line_taxes
    inner join document_lines
        on line_taxes.document_kind = document_lines.document_kind
        and line_taxes.document_line_id = document_lines.document_line_id

),

-- The tax payable account of each (entity, tax rate, jurisdiction) charged.
taxed_keys as (

    select distinct entity_id, tax_rate_id, jurisdiction
    from document_line_taxes

),

tax_rules as (

    select * from {{ ref('gl_tax_accounts') }}

),

tax_candidates as (

    {{ most_specific_rule('taxed_keys', 'tax_rules', [('tax_rate', 'tax_rate_id'), ('jurisdiction', 'jurisdiction')]) }}

),

tax_accounts as (

    select
        taxed_keys.entity_id,
        taxed_keys.tax_rate_id,
        taxed_keys.jurisdiction,
        coalesce(tax_candidates.account_code, policies.default_tax_account_code) as account_code
    from taxed_keys
    inner join policies
        on taxed_keys.entity_id = policies.entity_id
    left join tax_candidates
        on taxed_keys.entity_id = tax_candidates.entity_id
        and taxed_keys.tax_rate_id is not distinct from tax_candidates.tax_rate_id
        and taxed_keys.jurisdiction is not distinct from tax_candidates.jurisdiction

),

revenue_components as (

    select
        document_lines.document_kind,
        document_lines.document_id,
        document_lines.entity_id,
        'revenue' as component_kind,
        0 as kind_order,
        document_lines.position as line_position,
        document_lines.product_id,
        document_lines.price_id,
        document_lines.revenue_category,
        coalesce(revenue_accounts.account_code, uninvoiced_charges.account_code) as account_code,
        coalesce(revenue_accounts.is_unknown_product, false) as is_unknown_product,
        document_lines.amount_minor
        - case when policies.discount_treatment = 'net' then document_lines.discount_minor else 0 end as amount_minor
    from document_lines
    inner join policies
        on document_lines.entity_id = policies.entity_id
    left join revenue_accounts
        on document_lines.document_kind <> 'charge'
        and document_lines.entity_id = revenue_accounts.entity_id
        and document_lines.product_id is not distinct from revenue_accounts.product_id
        and document_lines.price_id is not distinct from revenue_accounts.price_id
    left join uninvoiced_charges
        on document_lines.document_kind = 'charge'
        and document_lines.document_id = uninvoiced_charges.charge_id

),

discount_components as (

    select
        document_lines.document_kind,
        document_lines.document_id,
        document_lines.entity_id,
        'discount' as component_kind,
        1 as kind_order,
        document_lines.position as line_position,
        document_lines.product_id,
        document_lines.price_id,
        policies.discount_account_code as account_code,
        false as is_unknown_product,
        -document_lines.discount_minor as amount_minor
    from document_lines
    inner join policies
        on document_lines.entity_id = policies.entity_id
    where policies.discount_treatment = 'contra_revenue'
        and document_lines.discount_minor <> 0

),

tax_components as (

    select
        document_line_taxes.document_kind,
        document_line_taxes.document_id,
        document_line_taxes.entity_id,
        'tax' as component_kind,
        2 as kind_order,
        document_line_taxes.line_position,
        document_line_taxes.tax_position,
        document_line_taxes.product_id,
        document_line_taxes.price_id,
        document_line_taxes.tax_rate_id,
        document_line_taxes.jurisdiction,
        tax_accounts.account_code,
        false as is_unknown_product,
        document_line_taxes.amount_minor
    from document_line_taxes
    inner join tax_accounts
        on document_line_taxes.entity_id = tax_accounts.entity_id
        and document_line_taxes.tax_rate_id is not distinct from tax_accounts.tax_rate_id
        and document_line_taxes.jurisdiction is not distinct from tax_accounts.jurisdiction
    where document_line_taxes.amount_minor <> 0

),

shipping_components as (

    select
        documents.document_kind,
        documents.document_id,
        documents.entity_id,
        'shipping' as component_kind,
        3 as kind_order,
        policies.shipping_account_code as account_code,
        false as is_unknown_product,
        documents.shipping_minor as amount_minor
    from documents
    inner join policies
        on documents.entity_id = policies.entity_id
    where coalesce(documents.shipping_minor, 0) <> 0
    union all
    select
        documents.document_kind,
        documents.document_id,
        documents.entity_id,
        'tax',
        4,
        policies.default_tax_account_code,
        false,
        documents.shipping_tax_minor
    from documents
    inner join policies
        on documents.entity_id = policies.entity_id
    where coalesce(documents.shipping_tax_minor, 0) <> 0

),

-- Each kind's columns by name, null where a kind has none (a union by name, which Spark lacks).
unioned as (

    select
        document_kind, document_id, entity_id, component_kind, kind_order, line_position, null as tax_position,
        product_id, price_id, revenue_category, null as tax_rate_id, null as jurisdiction, account_code, is_unknown_product, amount_minor
    from revenue_components
    union all
    select
        document_kind, document_id, entity_id, component_kind, kind_order, line_position, null,
        product_id, price_id, null, null, null, account_code, is_unknown_product, amount_minor
    from discount_components
    union all
    select
        document_kind, document_id, entity_id, component_kind, kind_order, line_position, tax_position,
        product_id, price_id, null, tax_rate_id, jurisdiction, account_code, is_unknown_product, amount_minor
    from tax_components
    union all
    select
        document_kind, document_id, entity_id, component_kind, kind_order, null, null,
        null, null, null, null, null, account_code, is_unknown_product, amount_minor
    from shipping_components

),

final as (

    select
        document_kind,
        document_id,
        entity_id,
        component_kind,
        product_id,
        revenue_category,
        tax_rate_id,
        jurisdiction,
        account_code,
        is_unknown_product,
        cast(amount_minor as bigint) as amount_minor,
        -- Where the part stands in its document (its kind, then its line's and its tax's position):
        -- the split ranks a document's parts by it only for the transactions it divides pro rata;
        -- ranking every document's parts here sorted millions of rows by document id.
        kind_order,
        line_position,
        tax_position
    from unioned

)

select * from final
