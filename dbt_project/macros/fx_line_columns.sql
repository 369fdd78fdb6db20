{#- The columns of a translated or revaluation journal line, in the order of the `close` tables that
    freeze them (create_close_tables): the FX models union their parts by this list, as Spark has
    no union by name. -#}
{% macro fx_line_columns() -%}
    journal_line_id, journal_entry_id, external_id, entity_id, account_code, account_name, currency, amount_minor,
    functional_currency, fx_rate, functional_amount_minor, fx_line_kind, is_fx_difference, memo, accounting_date, period
{%- endmacro %}
