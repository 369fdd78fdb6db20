-- The hook for the tax of charges without an invoice: one row per charge and tax it collected
-- (`tax_rate_id` and/or `jurisdiction`, `amount_minor` in the charge's minor units), which their
-- sales split books to tax payable, leaving the rest to revenue. Stripe Tax transactions
-- (tax.transactions, with their line items' tax breakdown) are where this tax would come from;
-- until they are ingested it is an empty, typed placeholder and such charges book whole to revenue.

select
    cast(null as varchar) as charge_id,
    cast(null as varchar) as tax_rate_id,
    cast(null as varchar) as jurisdiction,
    cast(null as bigint) as amount_minor
where false
