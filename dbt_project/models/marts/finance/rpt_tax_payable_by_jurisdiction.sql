-- Sales tax and VAT payable per entity, period, currency, jurisdiction and tax account, as the
-- journal books it from each sale's tax parts (int_balance_transaction_sales_split), in minor
-- units, positive for a liability:
--   tax_collected_minor  the tax charges collected
--   tax_credited_minor   the tax refunds gave back by a document of their own: a credit note's tax,
--                        or a Stripe Tax reversal's (int_stripe_tax_reversal_components)
--   tax_refunded_minor   the tax refunds without either gave back, pro rata of the invoice or charge
--   tax_payable_minor = collected - credited - refunded
-- Periods are the transactions' accounting months. Tax on shipping, which carries no tax rate,
-- has no jurisdiction. Jurisdictions are ISO style (`US-CA`, `DE`), whether the tax came from an
-- invoice's tax rate or, for a charge without an invoice, from Stripe Tax (int_uninvoiced_charge_taxes).

with

taxes as (

    select * from {{ ref('int_balance_transaction_sales_split') }}
    where component_kind = 'tax'

),

final as (

    select
        ---------- ids
        entity_id,
        account_code,

        ---------- strings
        {{ format_date('accounting_date', '%Y-%m') }} as period,
        currency,
        jurisdiction,

        ---------- numerics
        cast(coalesce(-sum(amount_minor) filter (where refund_id is null), 0) as bigint) as tax_collected_minor,
        cast(coalesce(sum(amount_minor) filter (where split_basis in ('credit_note', 'tax_reversal')), 0) as bigint) as tax_credited_minor,
        cast(coalesce(sum(amount_minor) filter (
            where refund_id is not null and split_basis not in ('credit_note', 'tax_reversal')
        ), 0) as bigint) as tax_refunded_minor,
        cast(-sum(amount_minor) as bigint) as tax_payable_minor

    from taxes
    group by entity_id, account_code, {{ format_date('accounting_date', '%Y-%m') }}, currency, jurisdiction

)

select * from final
