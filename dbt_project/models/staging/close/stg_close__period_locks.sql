with

source as (

    select * from {{ source('close', 'period_locks') }}

)

select * from source
