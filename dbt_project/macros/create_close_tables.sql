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
    create schema if not exists close;
    create table if not exists close.period_locks (
        period varchar primary key,
        locked_at timestamp not null,
        locked_by varchar not null
    );
    create table if not exists close.period_events (
        period varchar not null,
        action varchar not null,
        reason varchar,
        actor varchar not null,
        happened_at timestamp not null
    );
    create table if not exists close.locked_journal_lines (
        locked_period varchar not null,
        journal_line_id varchar not null,
        journal_entry_id varchar not null,
        external_id varchar not null,
        entity_id varchar not null,
        account_code varchar not null,
        account_name varchar,
        currency varchar not null,
        period varchar not null,
        memo varchar,
        amount_minor bigint not null,
        source_line_count bigint not null,
        accounting_date date not null,
        original_journal_entry_id varchar not null,
        original_accounting_date date not null,
        is_adjustment boolean not null
    );
    {%- for table in ['locked_journal_lines_translated', 'locked_fx_revaluation_lines'] %}
    create table if not exists close.{{ table }} (
        locked_period varchar not null,
        journal_line_id varchar not null,
        journal_entry_id varchar not null,
        external_id varchar not null,
        entity_id varchar not null,
        account_code varchar not null,
        account_name varchar,
        currency varchar not null,
        amount_minor bigint not null,
        functional_currency varchar not null,
        fx_rate decimal(38, 12),
        functional_amount_minor bigint,
        fx_line_kind varchar not null,
        is_fx_difference boolean not null,
        memo varchar,
        accounting_date date not null,
        period varchar not null
    );
    {%- endfor %}
    create table if not exists close.locked_journal_line_sources (
        locked_period varchar not null,
        journal_line_id varchar not null,
        journal_entry_id varchar not null,
        entity_id varchar not null,
        account_code varchar not null,
        source_kind varchar not null,
        source_id varchar not null,
        line_role varchar not null,
        currency varchar not null,
        amount_minor bigint not null,
        accounting_date date not null,
        period varchar not null,
        original_journal_entry_id varchar not null,
        original_accounting_date date not null,
        is_adjustment boolean not null
    );
    create table if not exists close.locked_close_packages (
        locked_period varchar not null,
        entity_id varchar not null,
        frozen_at_lock boolean not null,
        frozen_at timestamp not null,
        close_data varchar not null,
        primary key (locked_period, entity_id)
    );
    create table if not exists close.journal_build_marks (
        loaded_through timestamp,
        basis varchar not null,
        built_at timestamp not null
    );
{%- endmacro %}
