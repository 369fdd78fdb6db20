-- Each locked period with the first later period that is open: where corrections to it post.

with

locks as (

    select * from {{ ref('stg_close__period_locks') }}

),

-- With n periods locked, one of the n + 1 months after any locked period is open: offsets 1 to n + 1.
offsets as (

    select row_number() over (order by period) as months from locks
    union all
    select count(*) + 1 from locks

),

candidates as (

    select
        locks.period as locked_period,
        {{ format_date(add_months("cast(locks.period || '-01' as date)", 'offsets.months'), '%Y-%m') }} as candidate_period
    from locks
    cross join offsets

),

final as (

    select
        locked_period,
        min(candidate_period) as adjustment_period
    from candidates
    where candidate_period not in (select period from locks)
    group by locked_period

)

select * from final
