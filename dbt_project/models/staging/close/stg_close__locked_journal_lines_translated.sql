with

source as (

    select * from {{ source('close', 'locked_journal_lines_translated') }}

)

select * from source
