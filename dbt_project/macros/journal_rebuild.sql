{#- What a windowed build of the journal rebuilds besides its window: the days of facts that arrived
    since the last build (ledger docs, "Building per close window"). The journal remembers what it
    was built from in `close.journal_build_marks` (one row): the newest `_loaded_at` of the raw
    Stripe rows it had read, and the basis it booked them on (settings, seeds, models). -#}

{#- The basis the journal is booked on: a change to any of it (granularity, time zone, default
    entity, a seed such as the mapping rules, a model's SQL) can move every past day, so the next
    windowed build rebuilds everything. -#}
{% macro journal_build_basis() -%}
    {%- set parts = [var('journal_granularity'), var('reporting_timezone'), var('entity_id')] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() | sort(attribute='unique_id') -%}
            {%- if node.resource_type in ['seed', 'model'] -%}
                {%- do parts.append(node.unique_id ~ '=' ~ node.checksum.checksum) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(local_md5(parts | join('|'))) }}
{%- endmacro %}

{#- The raw Stripe rows the journal books from, whose `_loaded_at` the mark follows. -#}
{% macro journal_raw_sources() -%}
    {{ return([
        source('stripe', 'stripe_balance_transactions'), source('stripe', 'stripe_fee_details'),
        source('stripe', 'stripe_payouts'), source('stripe', 'stripe_payout_transactions'),
    ]) }}
{%- endmacro %}

{#- The last build's mark as (loaded_through, basis), or none before the first build that kept one. -#}
{% macro journal_build_mark() -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rows = run_query("select " ~ format_date('loaded_through', '%Y-%m-%d %H:%M:%S.%f') ~ ", basis from close.journal_build_marks").rows -%}
    {{ return((rows[0][0], rows[0][1]) if rows | length == 1 and rows[0][0] is not none else none) }}
{%- endmacro %}

{#- Post-hook of the last journal model: the journal now holds every raw row landed so far, booked
    on the current basis. No process writes the warehouse while dbt holds it, so the newest
    `_loaded_at` now is the newest the build read. -#}
{% macro record_journal_build_mark() -%}
    {%- set mark -%}
    select
        (select max(loaded_through) from (
            {%- for relation in journal_raw_sources() %}
            select max(_loaded_at) as loaded_through from {{ relation }}{{ ' union all' if not loop.last }}
            {%- endfor %}
        )),
        '{{ journal_build_basis() }}',
        now()
    {%- endset -%}
    {{ replace_rows('close.journal_build_marks', mark) }}
{%- endmacro %}

{#- On-run-end: after a build in which a model or proof failed, the journal forgets its mark, so the
    next build, windowed or not, rewrites and proves every day. A windowed build proves only the
    days it rewrites (macros/proof_scope.sql), trusting the others to have passed when last
    rewritten: a failure kept the mark would be proven on no later run. On DuckDB only: a Spark
    build is a whole build (docs/operations.md), and its parquet tables take no delete. -#}
{% macro forget_journal_build_mark_after_a_failure(results) -%}
    {%- if execute and target.type == 'duckdb' and results | selectattr('status', 'in', ['error', 'fail']) | list | length > 0 -%}
        delete from close.journal_build_marks
    {%- endif -%}
{%- endmacro %}

{#- The days a build rewrites in the incremental journal models, from int_journal_rebuild_days:
    none for every day (no window, or nothing to go on), else a list of YYYY-MM-DD. -#}
{% macro journal_rebuild_days() -%}
    {%- if not execute or close_window() is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rows = run_query("select " ~ format_date('accounting_date', '%Y-%m-%d') ~ " from " ~ ref('int_journal_rebuild_days') ~ " order by 1").rows -%}
    {%- set days = rows | map(attribute=0) | list -%}
    {{ return(none if none in days else days | unique | list) }}
{%- endmacro %}
