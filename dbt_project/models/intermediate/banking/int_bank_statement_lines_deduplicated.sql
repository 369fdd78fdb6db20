{{ config(materialized='table') }}

-- The bank lines matching works on: booked entries of the newest version of each statement file,
-- each entry once even when two files carry it (a BAI2 and a camt.053 of the same day, or
-- overlapping statement periods): the same account, bank reference, booking date and signed
-- amount is the same entry, and the first file loaded keeps it (stable line ids).
-- Adds what every matching rule needs: the business-day number of the booking date (Mon-Fri,
-- so a weekend date counts as the Monday after), whether the text looks like a Stripe payout, and
-- the reference tokens written in the text.

with

lines as (

    select * from {{ ref('stg_bank__statement_lines') }}
    where entry_status = 'booked'

),

files as (

    select * from {{ ref('stg_bank__statement_files') }}
    where file_status = 'loaded'

),

current_files as (

    select file_sha256
    from files
    qualify file_version = max(file_version) over (partition by file_name)

),

current_lines as (

    select lines.*
    from lines
    inner join current_files
        on lines.file_sha256 = current_files.file_sha256

),

first_of_each_entry as (

    select arg_min(bank_statement_line_id, (loaded_at, file_name, file_position)) as bank_statement_line_id
    from current_lines
    where bank_reference is not null
    group by bank_account_id, bank_reference, booking_date, signed_amount_minor

),

deduplicated as (

    select current_lines.*
    from current_lines
    left join first_of_each_entry
        on current_lines.bank_statement_line_id = first_of_each_entry.bank_statement_line_id
    where current_lines.bank_reference is null or first_of_each_entry.bank_statement_line_id is not null

),

final as (

    select
        *,
        {{ business_day_number("booking_date") }} as booking_business_day,
        regexp_matches(
            statement_text, '{{ var("bank_stripe_text_pattern", "(?i)\\bSTRIPE\\b|1?800948598|4270465600|WFMSTRIPE1|\\bST-[A-Z0-9]{10,12}\\b") }}'
        ) as is_stripe_like,
        regexp_extract_all(statement_text, '\bST-[A-Z0-9]{10,12}\b|\bpo_[A-Za-z0-9]{8,}\b') as text_tokens
    from deduplicated

)

select * from final
