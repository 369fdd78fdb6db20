{{ config(materialized='table') }}

-- The bank lines matching works on: booked entries of the newest version of each statement file,
-- each entry once even when two files carry it (a BAI2 and a camt.053 of the same day, or
-- overlapping statement periods): the same account, bank reference, booking date and signed
-- amount is the same entry, and the first file loaded keeps it (stable line ids).
-- Keeps only what matching and its marts read (the text stays in stg_bank__statement_lines: a
-- narrow table is much cheaper to write) and adds: the business-day number of the booking date
-- (weekends and the currency's bank holidays count as the next business day), whether the text
-- looks like a Stripe payout, the reference tokens written in it, and whether it names this Stripe
-- account (seed bank_payout_descriptors).

with

-- Read twice (keys, then rows) through current_lines: inlined, so that the wide rows are never
-- copied into a CTE.
lines as {{ inlined_cte() }} (

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

current_lines as {{ inlined_cte() }} (

    select lines.*
    from lines
    inner join current_files
        on lines.file_sha256 = current_files.file_sha256

),

first_of_each_entry as (

    select min_by(bank_statement_line_id, {{ struct_of([('loaded_at', 'loaded_at'), ('file_name', 'file_name'), ('file_position', 'file_position')]) }}) as bank_statement_line_id
    from current_lines
    where bank_reference is not null
    group by bank_account_id, bank_reference, booking_date, signed_amount_minor

),

deduplicated as (

    select
        current_lines.*,
        -- Upper-cased once here: inside the descriptor lambda below it would be per descriptor and costly.
        upper(current_lines.statement_text) as statement_text_upper
    from current_lines
    left join first_of_each_entry
        on current_lines.bank_statement_line_id = first_of_each_entry.bank_statement_line_id
    where current_lines.bank_reference is null or first_of_each_entry.bank_statement_line_id is not null

),

account_descriptors as (

    select bank_account_id, {{ list_agg('upper(descriptor)') }} as descriptors
    from {{ ref('bank_payout_descriptors') }}
    group by bank_account_id

),

final as (

    select
        -- Matching joins and groups on this integer (stable within one build only), not the string id.
        -- Numbered in id order: Spark numbers rows only in an order, and split deposits order a
        -- day's lines by key, so both engines must number alike.
        row_number() over (order by deduplicated.bank_statement_line_id) as line_key,
        deduplicated.bank_statement_line_id,
        deduplicated.bank_account_id,
        deduplicated.currency,
        deduplicated.signed_amount_minor,
        deduplicated.booking_date,
        deduplicated.value_date,
        {{ business_day_number("deduplicated.booking_date", "deduplicated.currency") }} as booking_business_day,
        deduplicated.bank_reference,
        deduplicated.customer_reference,
        deduplicated.file_name,
        deduplicated.file_line,
        {{ regex_matches(
            'deduplicated.statement_text',
            var("bank_stripe_text_pattern", "(?i)\\bSTRIPE\\b|1?800948598|4270465600|WFMSTRIPE1|\\bST-[A-Z0-9]{10,12}\\b")
        ) }} as is_stripe_like,
        {{ regex_find_all('deduplicated.statement_text', '\\bST-[A-Z0-9]{10,12}\\b|\\bpo_[A-Za-z0-9]{8,}\\b') }} as text_tokens,
        -- Null where no descriptor is configured for the account: the text cannot confirm the line.
        case
            when this_account.descriptors is not null or every_account.descriptors is not null
                then {{ list_length(list_where(
                    list_concat('this_account.descriptors', 'every_account.descriptors'),
                    'descriptor', 'contains(deduplicated.statement_text_upper, descriptor)'
                )) }} > 0
        end as names_this_account
    from deduplicated
    left join account_descriptors as this_account
        on deduplicated.bank_account_id = this_account.bank_account_id
    left join account_descriptors as every_account
        on every_account.bank_account_id is null

)

select * from final
