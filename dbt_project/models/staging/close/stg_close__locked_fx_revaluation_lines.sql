with

source as (

    select * from {{ source('close', 'locked_fx_revaluation_lines') }}

)

select * from source
