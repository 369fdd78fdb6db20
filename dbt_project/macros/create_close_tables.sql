{#- The period-close tables (schema `close`): which periods are locked, the history of locks and
    reopenings, and the journal as it stood when each period was locked (in the settlement
    currency, translated into the functional currency, and its period-end revaluation). `ledger.period_close`
    writes them; the marts read them. Created here, once, so both agree on one definition.
    `locked_close_packages` holds each locked period's close package figures per entity (the
    package's `CloseData` as JSON, `exporters/close_package/frozen_data.py`), which the package of a
    locked period is rendered from; no model reads it. `frozen_at_lock` is false for a period locked
    before packages were frozen at lock, whose package was frozen at its first build after.
    `journal_build_marks` holds what the journal was last built from (macros/journal_rebuild.sql). -#}
{% macro create_close_tables() -%}
    {%- set statements -%}
    create schema if not exists close;
    create table if not exists close.period_locks (
        period string not null,
        locked_at timestamp not null,
        locked_by string not null
        {{ primary_key(['period']) }}
    );
    create table if not exists close.period_events (
        period string not null,
        action string not null,
        reason string,
        actor string not null,
        happened_at timestamp not null
    );
    create table if not exists close.locked_journal_lines (
        locked_period string not null,
        journal_line_id string not null,
        journal_entry_id string not null,
        external_id string not null,
        entity_id string not null,
        account_code string not null,
        account_name string,
        currency string not null,
        period string not null,
        memo string,
        amount_minor bigint not null,
        source_line_count bigint not null,
        accounting_date date not null,
        original_journal_entry_id string not null,
        original_accounting_date date not null,
        is_adjustment boolean not null
    );
    {%- for table in ['locked_journal_lines_translated', 'locked_fx_revaluation_lines'] %}
    create table if not exists close.{{ table }} (
        locked_period string not null,
        journal_line_id string not null,
        journal_entry_id string not null,
        external_id string not null,
        entity_id string not null,
        account_code string not null,
        account_name string,
        currency string not null,
        amount_minor bigint not null,
        functional_currency string not null,
        fx_rate decimal(38, 12),
        functional_amount_minor bigint,
        fx_line_kind string not null,
        is_fx_difference boolean not null,
        memo string,
        accounting_date date not null,
        period string not null
    );
    {%- endfor %}
    create table if not exists close.locked_journal_line_sources (
        locked_period string not null,
        journal_line_id string not null,
        journal_entry_id string not null,
        entity_id string not null,
        account_code string not null,
        source_kind string not null,
        source_id string not null,
        line_role string not null,
        currency string not null,
        amount_minor bigint not null,
        accounting_date date not null,
        period string not null,
        original_journal_entry_id string not null,
        original_accounting_date date not null,
        is_adjustment boolean not null
    );
    create table if not exists close.locked_close_packages (
        locked_period string not null,
        entity_id string not null,
        frozen_at_lock boolean not null,
        frozen_at timestamp not null,
        close_data string not null
        {{ primary_key(['locked_period', 'entity_id']) }}
    );
    create table if not exists close.journal_build_marks (
        loaded_through timestamp,
        basis string not null,
        built_at timestamp not null
    );
    {%- endset -%}
    {{ run_statements(statements) }}
{%- endmacro %}

{#- A hook of several `;`-separated statements: DuckDB runs them as one script; a Spark session
    runs one statement per call, so each is run here and the hook itself is left empty (dbt skips
    an empty hook). The statements hold no string literals, so `;` only ever separates them. -#}
{% macro run_statements(statements) -%}
    {{ return(adapter.dispatch('run_statements')(statements)) }}
{%- endmacro %}

{% macro default__run_statements(statements) -%}
    {{ statements }}
{%- endmacro %}

{% macro spark__run_statements(statements) -%}
    {%- for statement in statements.split(';') if statement.strip() -%}
        {%- do run_query(statement) -%}
    {%- endfor -%}
{%- endmacro %}

{#- Key constraints: DuckDB enforces them; Spark's parquet tables have none. -#}
{% macro primary_key(columns) -%}
    {{ return(adapter.dispatch('primary_key')(columns)) }}
{%- endmacro %}

{% macro default__primary_key(columns) -%}
    , primary key ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__primary_key(columns) -%}
{%- endmacro %}
