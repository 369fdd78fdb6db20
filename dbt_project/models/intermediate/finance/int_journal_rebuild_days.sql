{{ config(materialized='table') }}

-- The accounting days a windowed build rewrites in the incremental journal models, each with why:
--   * the close window's days;
--   * the days of balance transactions (and their fee details, or payout links under the payout
--     granularity, or the charge, refund, credit note or invoice payment their sales split books
--     from) landed since the last build, however old their `created`: late facts;
--   * the days of charges and refunds whose sale changed since the last build: an invoice, credit
--     note, line item, line tax or discount, a product or tax rate they name, a charge's metadata
--     or Stripe Tax transaction, a refund's Stripe Tax reversal landed late
--     (int_sales_document_components and int_stripe_tax_reversal_components book from them);
--   * the days a payout's bank move left or reached since the last build (a bank line matched
--     late moves the arrival from the arrival date to the booking date; a payout that failed
--     after arriving brings a return);
--   * null (every day) when the journal has no mark of its last build, or was booked on another
--     basis (settings, seeds, models: macros/journal_rebuild.sql), and for a build without window.
-- Days of locked periods need no rewrite: their changes are adjusting rows, which every build
-- rewrites. A table, built before the journal: int_journal_source_records and the two journal
-- models read the same list as they compile, though the build rewrites the drill-down it compared.
{#- The window is read as the model runs, never as it parses: a new window keeps dbt's partial parse. #}
{%- set window = close_window() if execute else none %}
{%- set mark = journal_build_mark() %}
{%- set granularity = journal_granularity() %}
{%- set locked = locked_periods() %}
{%- set stored = adapter.get_relation(database=this.database, schema=this.schema, identifier='fct_journal_source_records') if execute else none %}
-- depends_on: {{ ref('stg_close__period_locks') }}, {{ ref('int_payout_bank_moves') }}, {{ ref('stg_stripe__payouts') }}
-- depends_on: {{ ref('stg_stripe__payout_transactions') }}, {{ ref('stg_stripe__balance_transactions') }}
-- depends_on: {{ journal_raw_sources() | join(', ') }}
-- depends_on: {{ source('stripe', 'stripe_charges') }}, {{ source('stripe', 'stripe_refunds') }}, {{ source('stripe', 'stripe_credit_notes') }}, {{ source('stripe', 'stripe_invoice_payments') }}
-- depends_on: {{ source('stripe', 'stripe_invoices') }}, {{ source('stripe', 'stripe_invoice_line_items') }}, {{ source('stripe', 'stripe_invoice_line_item_taxes') }}
-- depends_on: {{ source('stripe', 'stripe_invoice_line_item_discounts') }}, {{ source('stripe', 'stripe_credit_note_line_items') }}, {{ source('stripe', 'stripe_credit_note_line_item_taxes') }}
-- depends_on: {{ source('stripe', 'stripe_products') }}, {{ source('stripe', 'stripe_tax_rates') }}, {{ source('stripe', 'stripe_charge_metadata') }}
-- depends_on: {{ source('stripe', 'stripe_tax_transactions') }}, {{ source('stripe', 'stripe_tax_transaction_line_items') }}

{%- if window is none or mark is none or mark[1] != journal_build_basis() or stored is none %}

select
    cast(null as date) as accounting_date,
    {%- if window is none %}
    'a build without close window' as reason
    {%- else %}
    'no earlier build on the same settings, seeds and models' as reason
    {%- endif %}

{%- else %}

with

window_days as (

    select cast(day as date) as accounting_date, 'in the close window' as reason
    from range(date '{{ window[0] }}', date '{{ window[1] }}', interval 1 day) as days(day)

),

-- Landed since the last build (`_loaded_at` after its mark): it grows with each load, and DuckDB skips the row
-- groups loaded before the mark, so this reads what the hour brought, not the history.
landed_transactions as (

    select id as balance_transaction_id, created
    from {{ source('stripe', 'stripe_balance_transactions') }}
    where _loaded_at > timestamp '{{ mark[0] }}'

),

-- The sales documents whose parts changed since the last build (int_sales_document_components):
-- an invoice, credit note, line item, line tax or discount landed late, or a product or tax rate
-- they name (a product Stripe had not listed booked to suspense; a tax rate's jurisdiction picks
-- its account). Reads the landed rows, then the line items of the few products and rates.
landed_invoices as (

    select id as invoice_id from {{ source('stripe', 'stripe_invoices') }} where _loaded_at > timestamp '{{ mark[0] }}'
    union
    select invoice_id from {{ source('stripe', 'stripe_invoice_line_items') }} where _loaded_at > timestamp '{{ mark[0] }}'
    union
    select invoice_id from {{ source('stripe', 'stripe_invoice_line_item_taxes') }} where _loaded_at > timestamp '{{ mark[0] }}'
    union
    select invoice_id from {{ source('stripe', 'stripe_invoice_line_item_discounts') }} where _loaded_at > timestamp '{{ mark[0] }}'
    union
    select invoice_id from {{ source('stripe', 'stripe_invoice_line_items') }}
    where product_id in (select id from {{ source('stripe', 'stripe_products') }} where _loaded_at > timestamp '{{ mark[0] }}')
    union
    select invoice_id from {{ source('stripe', 'stripe_invoice_line_item_taxes') }}
    where tax_rate_id in (select id from {{ source('stripe', 'stripe_tax_rates') }} where _loaded_at > timestamp '{{ mark[0] }}')

),

-- A credit note line takes the product of the invoice line it credits: an invoice's change is its credit notes'.
landed_credit_notes as (

    select credit_note_id from {{ source('stripe', 'stripe_credit_note_line_items') }} where _loaded_at > timestamp '{{ mark[0] }}'
    union
    select credit_note_id from {{ source('stripe', 'stripe_credit_note_line_item_taxes') }} where _loaded_at > timestamp '{{ mark[0] }}'
    union
    select credit_note_id from {{ source('stripe', 'stripe_credit_note_line_item_taxes') }}
    where tax_rate_id in (select id from {{ source('stripe', 'stripe_tax_rates') }} where _loaded_at > timestamp '{{ mark[0] }}')
    union
    select id from {{ source('stripe', 'stripe_credit_notes') }}
    where invoice_id in (select invoice_id from landed_invoices)

),

-- Charges whose sale changed: those paying a changed invoice, and those without one whose metadata
-- (revenue category, Stripe Tax transaction) or Stripe Tax transaction landed late.
landed_sale_charges as (

    select charges.id as charge_id
    from {{ source('stripe', 'stripe_charges') }} as charges
    semi join (
        select payment_intent_id from {{ source('stripe', 'stripe_invoice_payments') }}
        where invoice_id in (select invoice_id from landed_invoices)
    ) as payments
        on charges.payment_intent_id = payments.payment_intent_id
    union
    select charge_id from {{ source('stripe', 'stripe_charge_metadata') }} where _loaded_at > timestamp '{{ mark[0] }}'
    union
    select charge_id from {{ source('stripe', 'stripe_charge_metadata') }}
    where key = 'tax_transaction'
        and value in (
            select id from {{ source('stripe', 'stripe_tax_transactions') }} where _loaded_at > timestamp '{{ mark[0] }}'
            union
            select tax_transaction_id from {{ source('stripe', 'stripe_tax_transaction_line_items') }} where _loaded_at > timestamp '{{ mark[0] }}'
        )

),

-- Their balance transactions, and those of the refunds they split by (pro rata of the charge's
-- document, a changed credit note's parts, or a Stripe Tax reversal the refund names landed late).
landed_sales as (

    select balance_transaction_id from {{ source('stripe', 'stripe_charges') }}
    where id in (select charge_id from landed_sale_charges)
    union
    select balance_transaction_id from {{ source('stripe', 'stripe_refunds') }}
    where charge_id in (select charge_id from landed_sale_charges)
        or id in (select refund_id from {{ source('stripe', 'stripe_credit_notes') }} where id in (select credit_note_id from landed_credit_notes))
        or {{ json_text('metadata', 'tax_transaction') }} in (
            select id from {{ source('stripe', 'stripe_tax_transactions') }} where _loaded_at > timestamp '{{ mark[0] }}'
            union
            select tax_transaction_id from {{ source('stripe', 'stripe_tax_transaction_line_items') }} where _loaded_at > timestamp '{{ mark[0] }}'
        )

),

-- Fee details or payout links landed without their transaction (rare: the API lands a
-- transaction with its details, and links its payout later).
landed_beside as (

    select balance_transaction_id
    from {{ source('stripe', 'stripe_fee_details') }}
    where _loaded_at > timestamp '{{ mark[0] }}'
    {%- if granularity == 'payout' %}
    union
    select balance_transaction_id
    from {{ source('stripe', 'stripe_payout_transactions') }}
    where _loaded_at > timestamp '{{ mark[0] }}'
    {%- endif %}
    union
    -- What a charge or refund sold, landed late (the sales split books it): its charge or refund,
    -- its credit note, or the invoice payment of its payment intent.
    select balance_transaction_id
    from {{ source('stripe', 'stripe_charges') }}
    where _loaded_at > timestamp '{{ mark[0] }}'
    union
    select balance_transaction_id
    from {{ source('stripe', 'stripe_refunds') }}
    where _loaded_at > timestamp '{{ mark[0] }}'
        or id in (select refund_id from {{ source('stripe', 'stripe_credit_notes') }} where _loaded_at > timestamp '{{ mark[0] }}')
    union
    select charges.balance_transaction_id
    from {{ source('stripe', 'stripe_charges') }} as charges
    semi join (
        select payment_intent_id from {{ source('stripe', 'stripe_invoice_payments') }} where _loaded_at > timestamp '{{ mark[0] }}'
    ) as landed_payments
        on charges.payment_intent_id = landed_payments.payment_intent_id
    except
    select balance_transaction_id from landed_transactions

),

late_transactions as (

    select *, 'a balance transaction landed since the last build' as reason from landed_transactions
    union all
    select transactions.id, transactions.created, 'a balance transaction landed since the last build'
    from {{ source('stripe', 'stripe_balance_transactions') }} as transactions
    semi join landed_beside
        on transactions.id = landed_beside.balance_transaction_id
    union all
    select transactions.id, transactions.created, 'what a charge or refund sold landed since the last build'
    from {{ source('stripe', 'stripe_balance_transactions') }} as transactions
    semi join landed_sales
        on transactions.id = landed_sales.balance_transaction_id

),

late_days as (

    select {{ accounting_date('created') }} as accounting_date, reason
    from late_transactions
    {%- if granularity == 'payout' %}
    union all
    -- A transaction's payout carries it to the payout's day; a payout landed late carries its
    -- transactions from their own days.
    select {{ accounting_date('payouts.created_at') }}, 'a payout entry holding a transaction landed since the last build'
    from {{ ref('stg_stripe__payout_transactions') }} as links
    inner join {{ ref('stg_stripe__payouts') }} as payouts
        on links.payout_id = payouts.payout_id
    semi join late_transactions
        on links.balance_transaction_id = late_transactions.balance_transaction_id
    union all
    select {{ accounting_date('payouts.created_at') }}, 'a payout landed since the last build'
    from {{ source('stripe', 'stripe_payouts') }} as landed
    inner join {{ ref('stg_stripe__payouts') }} as payouts
        on landed.id = payouts.payout_id
    where landed._loaded_at > timestamp '{{ mark[0] }}'
    union all
    select {{ accounting_date('transactions.created_at') }}, 'a transaction of a payout landed since the last build'
    from {{ ref('stg_stripe__payout_transactions') }} as links
    inner join {{ ref('stg_stripe__balance_transactions') }} as transactions
        on links.balance_transaction_id = transactions.balance_transaction_id
    semi join (
        select id from {{ source('stripe', 'stripe_payouts') }} where _loaded_at > timestamp '{{ mark[0] }}'
    ) as landed
        on links.payout_id = landed.id
    {%- endif %}

),

-- Bank moves as the facts call for them now, and as the journal booked them.
current_bank_moves as (

    select source_kind, payout_id as source_id, accounting_date, amount_minor
    from {{ ref('int_payout_bank_moves') }}

),

booked_bank_moves as (

    select source_kind, source_id, accounting_date, list_filter(lines, lambda line: line.line_role = 'bank')[1].amount_minor as amount_minor
    from {{ stored }}
    where source_kind <> 'balance_transaction'
        and not is_adjustment

),

moved_bank_days as (

    select accounting_date, 'a payout bank move changed since the last build' as reason
    from ((select * from current_bank_moves except all select * from booked_bank_moves)
          union all
          (select * from booked_bank_moves except all select * from current_bank_moves))

),

final as (

    select * from window_days
    union all
    select * from late_days
    union all
    select * from moved_bank_days

)

select accounting_date, string_agg(distinct reason, '; ' order by reason) as reason
from final
where not ({{ period_in("strftime(accounting_date, '%Y-%m')", locked) }})
group by accounting_date

{%- endif %}
