with

source as (

    select * from {{ source('close', 'locked_journal_lines') }}

)

select * from source
