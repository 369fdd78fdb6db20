with

source as (

    select * from {{ source('close', 'locked_journal_line_sources') }}

)

select * from source
