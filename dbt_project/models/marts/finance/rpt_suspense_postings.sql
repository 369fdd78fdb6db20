-- Every balance transaction whose gross amount books to a suspense account, for a person to review:
-- money no mapping rule explains (unmapped) and money a rule sends to suspense on purpose (such as
-- other_adjustment), and the parts of sales whose product Stripe does not list (the sales split
-- books them to suspense), each with its reason and its age in days since its accounting date.
-- Classifications are resolved once per build (int_gl_mapping_rules_resolved, a few hundred rows);
-- only the transactions of suspense classifications are looked up.
-- Age is counted at the build's day in the reporting time zone (`aged_as_of`); the close package
-- counts it at the end of its period instead, when that comes first.

with

classifications as (

    select * from {{ ref('int_gl_mapping_rules_resolved') }}

),

transactions as (

    select * from {{ ref('stg_stripe__balance_transactions') }}

),

-- The accounts of type suspense, and the control account the unmapped book to.
sales_split as (

    select * from {{ ref('int_balance_transaction_sales_split') }}

),

suspense_accounts as (

    select account_code from {{ ref('gl_accounts') }}
    where account_type = 'suspense'
    union
    select account_code from {{ ref('gl_control_accounts') }}
    where account_role = 'suspense'

),

suspense_classifications as (

    select
        reporting_category,
        balance_transaction_type,
        currency,
        entity_id,
        coalesce(gross_account_code, {{ control_account('suspense') }}) as suspense_account_code,
        mapping_rule_line,
        case
            when is_unmapped
                then 'unmapped reporting_category ' || coalesce(reporting_category, '(none)')
                    || ' / type ' || coalesce(balance_transaction_type, '(none)')
            else 'mapped to suspense by rule ' || (mapping_rule_line - 1)
                || ' (gl_mapping_rules.csv line ' || mapping_rule_line || ')'
        end as reason
    from classifications
    where is_unmapped
        or gross_account_code in (select account_code from suspense_accounts)

),

postings as (

    select
        transactions.entity_id,
        transactions.stripe_account_id,
        transactions.balance_transaction_id,
        {{ accounting_date('transactions.created_at') }} as accounting_date,
        transactions.currency,
        transactions.reporting_category,
        transactions.balance_transaction_type,
        transactions.description,
        suspense_classifications.suspense_account_code,
        -- As the journal books it: the gross amount negated (debit positive).
        -transactions.amount_minor as suspense_amount_minor,
        suspense_classifications.reason,
        suspense_classifications.mapping_rule_line
    from transactions
    inner join suspense_classifications
        on transactions.reporting_category = suspense_classifications.reporting_category
        and transactions.balance_transaction_type = suspense_classifications.balance_transaction_type
        and transactions.currency = suspense_classifications.currency
        and transactions.entity_id is not distinct from suspense_classifications.entity_id
    where transactions.amount_minor <> 0
        -- A sale whose parts are known books them instead of its gross (below when unknown). An
        -- anti join: `not in` a subquery of millions of rows also looks for a null among them.
        and not exists (
            select 1 from sales_split
            where sales_split.balance_transaction_id = transactions.balance_transaction_id
        )

),

-- Per credit note, its lines that credit no loaded invoice line: custom lines (Stripe's
-- `custom_line_item`, which name none) and lines whose invoice line never landed.
credit_note_lines_without_product as (

    select
        credit_lines.credit_note_id as document_id,
        {{ sorted_distinct_string_agg('case when credit_lines.invoice_line_item_id is null then credit_lines.credit_note_line_item_id end', ', ') }}
            as custom_line_ids,
        {{ sorted_distinct_string_agg('credit_lines.invoice_line_item_id', ', ') }} as missing_invoice_line_ids
    from {{ ref('stg_stripe__credit_note_line_items') }} as credit_lines
    left join {{ ref('stg_stripe__invoice_line_items') }} as invoice_lines
        on credit_lines.invoice_line_item_id = invoice_lines.invoice_line_item_id
    where invoice_lines.invoice_line_item_id is null
    group by credit_lines.credit_note_id

),

-- The parts of sales that book to suspense: products Stripe does not list, one row per transaction.
unknown_product_postings as (

    select
        transactions.entity_id,
        transactions.stripe_account_id,
        transactions.balance_transaction_id,
        {{ accounting_date('transactions.created_at') }} as accounting_date,
        transactions.currency,
        transactions.reporting_category,
        transactions.balance_transaction_type,
        transactions.description,
        {{ control_account('suspense') }} as suspense_account_code,
        cast(sum(unknown.amount_minor) as bigint) as suspense_amount_minor,
        -- A line naming no product: a credit note line whose invoice line never landed (source
        -- objects switched on after the invoice was created: loading it fixes it), or a custom line
        -- (no product to load: a person books it), or a document line without one.
        case
            when count(unknown.product_id) = 0 and count(lines.missing_invoice_line_ids) > 0
                then 'no product on ' || {{ sorted_distinct_string_agg('unknown.document_id', ', ') }}
                    || ': the invoice lines it credits are not loaded ('
                    || {{ sorted_distinct_string_agg('lines.missing_invoice_line_ids', ', ') }}
                    || '); ingest the invoice or correct the document'
            when count(unknown.product_id) = 0 and count(lines.custom_line_ids) > 0
                then 'custom line ' || {{ sorted_distinct_string_agg('lines.custom_line_ids', ', ') }}
                    || ' on ' || {{ sorted_distinct_string_agg('unknown.document_id', ', ') }}
                    || ': a credit note line of type custom_line_item credits no product; '
                    || 'reclassify it from suspense to the account it reverses'
            when count(unknown.product_id) = 0
                then 'no product on ' || {{ sorted_distinct_string_agg('unknown.document_id', ', ') }}
                    || ': its lines name none; correct the document'
            else 'unknown product ' || {{ sorted_distinct_string_agg('unknown.product_id', ', ') }}
                || ' on ' || {{ sorted_distinct_string_agg('unknown.document_id', ', ') }}
                || ': not among Stripe''s products; ingest the product or correct the document'
        end as reason,
        cast(null as integer) as mapping_rule_line
    from (select * from sales_split where is_unknown_product) as unknown
    inner join transactions
        on unknown.balance_transaction_id = transactions.balance_transaction_id
    left join credit_note_lines_without_product as lines
        on unknown.product_id is null
        and unknown.document_id = lines.document_id
    group by all

),

final as (

    select
        *,
        {{ format_date('accounting_date', '%Y-%m') }} as period,
        {{ accounting_date(utc_now()) }} as aged_as_of,
        {{ days_between('accounting_date', accounting_date(utc_now())) }} as age_days
    from (
        -- The same columns in the same order (Spark has no union by name).
        select * from postings
        union all
        select * from unknown_product_postings
    ) as suspense_postings

)

select * from final
