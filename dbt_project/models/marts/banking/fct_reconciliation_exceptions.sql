-- What a person must look at after matching, one row per item, each with its age in business days
-- at the as-of date (var `bank_reconciliation_as_of`, default: the last booking date on the loaded
-- statements, i.e. as far as the bank has told us):
--   ambiguous_candidates  a payout or line with several candidates under one rule (never auto-matched;
--                         `candidate_count` says how many the payout has)
--   amount_difference     a reference names the payout but the amounts differ (age from booking date)
--   payout_in_transit     not at the bank yet, still inside the window after arrival_date (age from creation)
--   payout_overdue        not at the bank and past the window after arrival_date (age from arrival_date)
--   unmatched_bank_line   a Stripe-looking line that matches nothing (age from booking date)
--   bank_file_warning     one per warning stored with the current version of a loaded statement file
--                         (any format): a departure read as assumed, a closing balance that does not add
--                         up, a new version; `file_name` and `description` say which (age from loading)
-- Every payout item carries its payout's Stripe account and entity; an unmatched bank line and a
-- file warning have neither (nothing says whose they are), and a file warning no currency or amount.
-- Payouts due before the first statement line of their currency are outside what the bank files
-- cover and are not listed.

with

candidates as (

    select * from {{ ref('int_bank_payout_candidates') }}

),

lines as (

    select * from {{ ref('int_bank_statement_lines_deduplicated') }}

),

payouts as (

    select * from {{ ref('int_bank_payouts') }}

),

files as (

    select * from {{ ref('stg_bank__statement_files') }}
    where file_status = 'loaded'

),

window_rule as (

    select business_days_after from {{ ref('bank_matching_rules') }} where match_rule = 'amount_descriptor'

),

as_of as (

    select
        coalesce(
            {% if var('bank_reconciliation_as_of', none) %}date '{{ var("bank_reconciliation_as_of") }}'{% else %}null{% endif %},
            (select max(booking_date) from lines),
            current_date
        ) as as_of_date

),

coverage as (

    select currency, min(booking_date) as first_booking_date from lines group by currency

),

settled_payouts as (

    select distinct payout_id from candidates where candidate_status = 'matched'

),

listed_payouts as (

    select distinct payout_id from candidates where candidate_status in ('ambiguous', 'amount_difference')

),

candidate_items as (

    select
        case when candidate_status = 'ambiguous' then 'ambiguous_candidates' else candidate_status end as exception_type,
        payout_id,
        bank_statement_line_id,
        stripe_account_id,
        entity_id,
        currency,
        amount_minor,
        difference_minor,
        booking_date as reference_date,
        match_rule,
        count(*) over (partition by payout_id, match_rule) as candidate_count,
        cast(null as string) as file_name,
        cast(null as string) as file_sha256,
        cast(null as string) as description
    from candidates
    where candidate_status in ('ambiguous', 'amount_difference')

),

open_payouts as (

    select
        payouts.payout_id,
        payouts.stripe_account_id,
        payouts.entity_id,
        payouts.currency,
        payouts.amount_minor,
        payouts.arrival_date,
        payouts.created_date,
        payouts.arrival_business_day,
        {{ business_day_number("as_of.as_of_date", "payouts.currency") }} as as_of_business_day
    from payouts
    cross join as_of
    inner join coverage
        on payouts.currency = coverage.currency
        and payouts.arrival_date >= coverage.first_booking_date
    where payouts.payout_status in ('in_transit', 'paid')
        and payouts.payout_id not in (select payout_id from settled_payouts)
        and payouts.payout_id not in (select payout_id from listed_payouts)

),

payout_items as (

    select
        case
            when open_payouts.as_of_business_day > open_payouts.arrival_business_day + window_rule.business_days_after
                then 'payout_overdue'
            else 'payout_in_transit'
        end as exception_type,
        open_payouts.payout_id,
        cast(null as string) as bank_statement_line_id,
        open_payouts.stripe_account_id,
        open_payouts.entity_id,
        open_payouts.currency,
        open_payouts.amount_minor,
        cast(null as bigint) as difference_minor,
        case
            when open_payouts.as_of_business_day > open_payouts.arrival_business_day + window_rule.business_days_after
                then open_payouts.arrival_date
            else open_payouts.created_date
        end as reference_date,
        cast(null as string) as match_rule,
        cast(0 as bigint) as candidate_count,
        cast(null as string) as file_name,
        cast(null as string) as file_sha256,
        cast(null as string) as description
    from open_payouts
    cross join window_rule

),

line_items as (

    select
        'unmatched_bank_line' as exception_type,
        cast(null as string) as payout_id,
        lines.bank_statement_line_id,
        -- no payout, so no Stripe account: unassigned to any entity
        cast(null as string) as stripe_account_id,
        cast(null as string) as entity_id,
        lines.currency,
        lines.signed_amount_minor as amount_minor,
        cast(null as bigint) as difference_minor,
        lines.booking_date as reference_date,
        cast(null as string) as match_rule,
        cast(0 as bigint) as candidate_count,
        cast(null as string) as file_name,
        cast(null as string) as file_sha256,
        cast(null as string) as description
    from lines
    where lines.is_stripe_like
        and lines.bank_statement_line_id not in (select bank_statement_line_id from candidates)

),

current_files as (

    select *
    from files
    qualify file_version = max(file_version) over (partition by file_name)

),

file_warning_items as (

    select
        'bank_file_warning' as exception_type,
        cast(null as string) as payout_id,
        cast(null as string) as bank_statement_line_id,
        cast(null as string) as stripe_account_id,
        cast(null as string) as entity_id,
        cast(null as string) as currency,
        cast(null as bigint) as amount_minor,
        cast(null as bigint) as difference_minor,
        -- loaded after the as-of date (the last booking date) counts as open since then: age 0, not negative
        least(cast(current_files.loaded_at as date), as_of.as_of_date) as reference_date,
        cast(null as string) as match_rule,
        cast(0 as bigint) as candidate_count,
        current_files.file_name,
        current_files.file_sha256,
        current_files.description
    from (select *, {{ unnest_as('warnings', 'description') }} from current_files) as current_files
    cross join as_of

),

unioned as (

    select * from candidate_items
    union all
    select * from payout_items
    union all
    select * from line_items
    union all
    select * from file_warning_items

),

final as (

    select
        -- concat_ws skips nulls: the ids of the other types are those they had before file warnings existed
        md5(concat_ws('|', exception_type, payout_id, bank_statement_line_id, match_rule, file_sha256, description)) as exception_id,
        unioned.*,
        {{ business_day_number("as_of.as_of_date", "unioned.currency") }}
            - {{ business_day_number("unioned.reference_date", "unioned.currency") }} as age_business_days,
        as_of.as_of_date
    from unioned
    cross join as_of

)

select * from final
