-- SEAM for bank matching: which bank deposit settled each payout, and on which booking date.
-- This placeholder is empty and typed; the bank-matching work replaces this model with the real
-- matches. Until a payout has a match, the ledger moves it to the bank on its arrival date.

select
    cast(null as varchar) as payout_id,
    cast(null as date) as bank_booking_date
where false
