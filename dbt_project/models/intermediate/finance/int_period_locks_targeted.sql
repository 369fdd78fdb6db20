-- Each locked period with the first later period that is open: where corrections to it post.

with

locks as (

    select * from {{ ref('stg_close__period_locks') }}

),

-- With n periods locked, one of the n + 1 months after any locked period is open.
candidates as (

    select
        locks.period as locked_period,
        strftime(cast(locks.period || '-01' as date) + to_months(cast(offsets.months as integer)), '%Y-%m') as candidate_period
    from locks
    cross join range(1, (select count(*) + 2 from locks)) as offsets(months)

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
