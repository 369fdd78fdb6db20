{{ config(meta={'dagster': {'ref': {'name': 'fct_journal_lines'}}, 'description': 'Locked periods are served frozen. Every locked period\'s journal comes from its frozen copy, and no reopened period is still frozen. When it fails: run the ledger without a partition (a full build) so it reads the current locks.'}) }}
-- The journal serves exactly the current locks: every locked period from its frozen copy and no
-- longer from open records, and no reopened period still frozen. A windowed (incremental) build
-- keeps the rows outside its window, so after a lock or a reopen the journal must be built whole
-- (a build without close window vars); this names each period served the old way.

with

locks as (

    select period from {{ ref('stg_close__period_locks') }}

),

frozen as (

    select distinct locked_period as period from {{ ref('stg_close__locked_journal_lines') }}

),

served_frozen as (

    select distinct period from {{ ref('fct_journal_lines') }}
    where is_locked

),

served_open as (

    select distinct period from {{ ref('fct_journal_source_records') }}
    where not is_adjustment

)

select period, 'locked, but still served from open records: build the journal whole' as problem
from locks
where period in (select period from served_open)
union all
select period, 'locked, but its frozen lines are not served: build the journal whole'
from frozen
where period not in (select period from served_frozen)
union all
select period, 'not locked, but still served frozen: build the journal whole'
from served_frozen
where period not in (select period from locks)
