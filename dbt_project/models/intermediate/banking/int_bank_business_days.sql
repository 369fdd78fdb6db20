{{ config(materialized='table') }}

-- The business-day number of every date from 2000 to 2099 in each currency that has holidays
-- (seed bank_holidays): Monday-to-Friday days minus the weekday holidays before the date, so a
-- holiday gets the number of the business day after it, as a weekend does. business_day_number()
-- looks dates up here; a small table (about 36,500 rows per currency) joined on equality.

with

holidays as (

    select distinct currency, holiday_date
    from {{ ref('bank_holidays') }}
    where {{ iso_weekday('holiday_date') }} <= 5

),

calendar_dates as (

    select currencies.currency, days.calendar_date
    from (select distinct currency from holidays) as currencies
    cross join {{ date_series("date '2000-01-01'", "date '2099-12-31'", 'calendar_date') }} as days

),

flagged as (

    select
        calendar_dates.currency,
        calendar_dates.calendar_date,
        {{ iso_weekday('calendar_dates.calendar_date') }} <= 5 and holidays.holiday_date is null as is_business_day,
        holidays.holiday_date is not null as is_holiday
    from calendar_dates
    left join holidays
        on calendar_dates.currency = holidays.currency
        and calendar_dates.calendar_date = holidays.holiday_date

),

final as (

    select
        currency,
        calendar_date,
        is_business_day,
        {{ weekday_number("calendar_date") }}
            - coalesce(
                sum(cast(is_holiday as integer)) over (
                    partition by currency order by calendar_date rows between unbounded preceding and 1 preceding
                ),
                0
            ) as business_day_number
    from flagged

)

select * from final
