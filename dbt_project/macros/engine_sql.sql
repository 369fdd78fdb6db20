{#- The SQL that DuckDB and Spark spell differently, one macro per construct, one implementation
    per engine (dbt's adapter.dispatch: `default__` is DuckDB's, `spark__` Spark's). Models write
    the shared dialect (`string`, `group by all`, `qualify`, `semi join`, `min_by`) directly and
    call these for the rest. -#}

{#- A date as text, in strftime notation (%Y, %m, %d). -#}
{% macro format_date(date_expression, strftime_format) -%}
    {{ return(adapter.dispatch('format_date')(date_expression, strftime_format)) }}
{%- endmacro %}

{% macro default__format_date(date_expression, strftime_format) -%}
    strftime({{ date_expression }}, '{{ strftime_format }}')
{%- endmacro %}

{% macro spark__format_date(date_expression, strftime_format) -%}
    date_format({{ date_expression }}, '{{ strftime_format | replace("%Y", "yyyy") | replace("%m", "MM") | replace("%d", "dd") | replace("%H", "HH") | replace("%M", "mm") | replace("%S", "ss") | replace("%f", "SSSSSS") }}')
{%- endmacro %}

{#- A struct from (name, expression) pairs. -#}
{% macro struct_of(fields) -%}
    {{ return(adapter.dispatch('struct_of')(fields)) }}
{%- endmacro %}

{% macro default__struct_of(fields) -%}
    { {%- for name, expression in fields %}'{{ name }}': {{ expression }}{{ ', ' if not loop.last }}{% endfor -%} }
{%- endmacro %}

{% macro spark__struct_of(fields) -%}
    named_struct({%- for name, expression in fields %}'{{ name }}', {{ expression }}{{ ', ' if not loop.last }}{% endfor -%})
{%- endmacro %}

{#- A list of the given expressions. -#}
{% macro list_of(items) -%}
    {{ return(adapter.dispatch('list_of')(items)) }}
{%- endmacro %}

{% macro default__list_of(items) -%}
    [{{ items | join(', ') }}]
{%- endmacro %}

{% macro spark__list_of(items) -%}
    array({{ items | join(', ') }})
{%- endmacro %}

{#- The items of a list for which `predicate` (an expression of `item_name`) holds. -#}
{% macro list_where(list_expression, item_name, predicate) -%}
    {{ return(adapter.dispatch('list_where')(list_expression, item_name, predicate)) }}
{%- endmacro %}

{% macro default__list_where(list_expression, item_name, predicate) -%}
    list_filter({{ list_expression }}, lambda {{ item_name }}: {{ predicate }})
{%- endmacro %}

{% macro spark__list_where(list_expression, item_name, predicate) -%}
    filter({{ list_expression }}, {{ item_name }} -> {{ predicate }})
{%- endmacro %}

{#- The number of items of a list. -#}
{% macro list_length(list_expression) -%}
    {{ return(adapter.dispatch('list_length')(list_expression)) }}
{%- endmacro %}

{% macro default__list_length(list_expression) -%}
    len({{ list_expression }})
{%- endmacro %}

{% macro spark__list_length(list_expression) -%}
    size({{ list_expression }})
{%- endmacro %}

{#- Aggregate: the values of `expression` as a list sorted by the values themselves (structs by
    their fields in order). DuckDB sorts each collected list: three times cheaper than an ordered
    aggregate (`list(x order by x)`, which sorts every group's rows apart), in the same order. -#}
{% macro sorted_list_agg(expression) -%}
    {{ return(adapter.dispatch('sorted_list_agg')(expression)) }}
{%- endmacro %}

{% macro default__sorted_list_agg(expression) -%}
    list_sort(list({{ expression }}))
{%- endmacro %}

{% macro spark__sorted_list_agg(expression) -%}
    array_sort(collect_list({{ expression }}))
{%- endmacro %}

{#- In a select list: one row per item of a list column, the item as column `item_name`. -#}
{% macro unnest_as(list_expression, item_name) -%}
    {{ return(adapter.dispatch('unnest_as')(list_expression, item_name)) }}
{%- endmacro %}

{% macro default__unnest_as(list_expression, item_name) -%}
    unnest({{ list_expression }}) as {{ item_name }}
{%- endmacro %}

{% macro spark__unnest_as(list_expression, item_name) -%}
    explode({{ list_expression }}) as {{ item_name }}
{%- endmacro %}

{#- In a select list: one row per item of a list of structs, each field its own column. -#}
{% macro unnest_fields(list_expression) -%}
    {{ return(adapter.dispatch('unnest_fields')(list_expression)) }}
{%- endmacro %}

{% macro default__unnest_fields(list_expression) -%}
    unnest({{ list_expression }}, recursive := true)
{%- endmacro %}

{% macro spark__unnest_fields(list_expression) -%}
    inline({{ list_expression }})
{%- endmacro %}

{#- Every column of the relation in scope (or of `relation`) except `columns`. -#}
{% macro star_except(columns, relation=none) -%}
    {{ return(adapter.dispatch('star_except')(columns, relation)) }}
{%- endmacro %}

{% macro default__star_except(columns, relation=none) -%}
    {{ relation ~ '.' if relation }}* exclude ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__star_except(columns, relation=none) -%}
    {{ relation ~ '.' if relation }}* except ({{ columns | join(', ') }})
{%- endmacro %}

{#- A date `months` months later. -#}
{% macro add_months(date_expression, months) -%}
    {{ return(adapter.dispatch('add_months')(date_expression, months)) }}
{%- endmacro %}

{% macro default__add_months(date_expression, months) -%}
    cast({{ date_expression }} + to_months(cast({{ months }} as integer)) as date)
{%- endmacro %}

{% macro spark__add_months(date_expression, months) -%}
    add_months({{ date_expression }}, cast({{ months }} as integer))
{%- endmacro %}

{#- The integer quotient, truncated towards zero on both engines. -#}
{% macro integer_divide(dividend, divisor) -%}
    {{ return(adapter.dispatch('integer_divide')(dividend, divisor)) }}
{%- endmacro %}

{% macro default__integer_divide(dividend, divisor) -%}
    (({{ dividend }}) // ({{ divisor }}))
{%- endmacro %}

{% macro spark__integer_divide(dividend, divisor) -%}
    (({{ dividend }}) div ({{ divisor }}))
{%- endmacro %}

{#- A common table expression computed once however often it is read (DuckDB's `as materialized`);
    Spark plans each reference itself and caches nothing here. -#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte')()) }}
{%- endmacro %}

{% macro default__materialized_cte() -%}
    materialized
{%- endmacro %}

{% macro spark__materialized_cte() -%}
{%- endmacro %}

{#- A common table expression inlined into each query that reads it (DuckDB's `as not materialized`);
    Spark always inlines. -#}
{% macro inlined_cte() -%}
    {{ return(adapter.dispatch('inlined_cte')()) }}
{%- endmacro %}

{% macro default__inlined_cte() -%}
    not materialized
{%- endmacro %}

{% macro spark__inlined_cte() -%}
{%- endmacro %}

{#- The 0-based position of each row of a seed in its CSV file (the rule's line, for messages). -#}
{% macro seed_row_position() -%}
    {{ return(adapter.dispatch('seed_row_position')()) }}
{%- endmacro %}

{% macro default__seed_row_position() -%}
    rowid
{%- endmacro %}

{#- A seed is written by a few inserts in file order (macros/spark/load_csv_rows.sql); Spark's
    row ids follow the files and rows as read, which is that order for a seed. -#}
{% macro spark__seed_row_position() -%}
    (row_number() over (order by monotonically_increasing_id()) - 1)
{%- endmacro %}

{#- Days from `start_date` to `end_date` (negative when end is earlier). -#}
{% macro days_between(start_date, end_date) -%}
    {{ return(adapter.dispatch('days_between')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__days_between(start_date, end_date) -%}
    date_diff('day', {{ start_date }}, {{ end_date }})
{%- endmacro %}

{% macro spark__days_between(start_date, end_date) -%}
    datediff({{ end_date }}, {{ start_date }})
{%- endmacro %}

{#- ISO day of the week: Monday 1 to Sunday 7. -#}
{% macro iso_weekday(date_expression) -%}
    {{ return(adapter.dispatch('iso_weekday')(date_expression)) }}
{%- endmacro %}

{% macro default__iso_weekday(date_expression) -%}
    isodow({{ date_expression }})
{%- endmacro %}

{% macro spark__iso_weekday(date_expression) -%}
    (weekday({{ date_expression }}) + 1)
{%- endmacro %}

{#- A relation of every date from `start_date` to `end_date` inclusive, one column `column_name`. -#}
{% macro date_series(start_date, end_date, column_name) -%}
    {{ return(adapter.dispatch('date_series')(start_date, end_date, column_name)) }}
{%- endmacro %}

{% macro default__date_series(start_date, end_date, column_name) -%}
    (select cast(generate_series as date) as {{ column_name }} from generate_series({{ start_date }}, {{ end_date }}, interval 1 day))
{%- endmacro %}

{% macro spark__date_series(start_date, end_date, column_name) -%}
    (select explode(sequence({{ start_date }}, {{ end_date }}, interval 1 day)) as {{ column_name }})
{%- endmacro %}

{#- A list sorted ascending. -#}
{% macro sorted_list(list_expression) -%}
    {{ return(adapter.dispatch('sorted_list')(list_expression)) }}
{%- endmacro %}

{% macro default__sorted_list(list_expression) -%}
    list_sort({{ list_expression }})
{%- endmacro %}

{% macro spark__sorted_list(list_expression) -%}
    array_sort({{ list_expression }})
{%- endmacro %}

{#- Aggregate: the values of `expression` as a list in the order of `order_expression`. -#}
{% macro ordered_list_agg(expression, order_expression) -%}
    {{ return(adapter.dispatch('ordered_list_agg')(expression, order_expression)) }}
{%- endmacro %}

{% macro default__ordered_list_agg(expression, order_expression) -%}
    list({{ expression }} order by {{ order_expression }})
{%- endmacro %}

{% macro spark__ordered_list_agg(expression, order_expression) -%}
    transform(array_sort(collect_list(named_struct('sort_key', {{ order_expression }}, 'item', {{ expression }}))), entry -> entry.item)
{%- endmacro %}

{#- In a select list: one row per position of lists of equal length, item i of each list as a
    column of the name at the same place in `names`. -#}
{% macro unnest_zipped(list_expressions, names) -%}
    {{ return(adapter.dispatch('unnest_zipped')(list_expressions, names)) }}
{%- endmacro %}

{% macro default__unnest_zipped(list_expressions, names) -%}
    {%- for list_expression in list_expressions %}unnest({{ list_expression }}) as {{ names[loop.index0] }}{{ ', ' if not loop.last }}{% endfor -%}
{%- endmacro %}

{% macro spark__unnest_zipped(list_expressions, names) -%}
    inline(arrays_zip({{ list_expressions | join(', ') }})) as ({{ names | join(', ') }})
{%- endmacro %}

{#- In a select list: one row per integer from `start` to `stop` inclusive (none when stop < start). -#}
{% macro unnest_integers(start, stop, name) -%}
    {{ return(adapter.dispatch('unnest_integers')(start, stop, name)) }}
{%- endmacro %}

{% macro default__unnest_integers(start, stop, name) -%}
    unnest(range({{ start }}, ({{ stop }}) + 1)) as {{ name }}
{%- endmacro %}

{#- Spark's sequence counts down when stop < start; explode of null gives no row. -#}
{% macro spark__unnest_integers(start, stop, name) -%}
    explode(case when ({{ stop }}) >= ({{ start }}) then sequence({{ start }}, {{ stop }}) end) as {{ name }}
{%- endmacro %}

{#- Whether `text_expression` contains a match of the regular expression `pattern` (no quotes in
    it). Spark's string literals read backslashes as escapes unless raw (r'...'). -#}
{% macro regex_matches(text_expression, pattern) -%}
    {{ return(adapter.dispatch('regex_matches')(text_expression, pattern)) }}
{%- endmacro %}

{% macro default__regex_matches(text_expression, pattern) -%}
    regexp_matches({{ text_expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__regex_matches(text_expression, pattern) -%}
    ({{ text_expression }} rlike r'{{ pattern }}')
{%- endmacro %}

{#- Every whole match of `pattern` in `text_expression`, as a list. -#}
{% macro regex_find_all(text_expression, pattern) -%}
    {{ return(adapter.dispatch('regex_find_all')(text_expression, pattern)) }}
{%- endmacro %}

{% macro default__regex_find_all(text_expression, pattern) -%}
    regexp_extract_all({{ text_expression }}, '{{ pattern }}')
{%- endmacro %}

{#- Group 0, the whole match: Spark's default is group 1. -#}
{% macro spark__regex_find_all(text_expression, pattern) -%}
    regexp_extract_all({{ text_expression }}, r'{{ pattern }}', 0)
{%- endmacro %}

{#- Aggregate: the non-null values of `expression` as a list, in no particular order. -#}
{% macro list_agg(expression) -%}
    {{ return(adapter.dispatch('list_agg')(expression)) }}
{%- endmacro %}

{% macro default__list_agg(expression) -%}
    list({{ expression }}) filter (where {{ expression }} is not null)
{%- endmacro %}

{% macro spark__list_agg(expression) -%}
    collect_list({{ expression }})
{%- endmacro %}

{#- Two lists one after the other; a null list counts as empty. -#}
{% macro list_concat(first_list, second_list) -%}
    {{ return(adapter.dispatch('list_concat')(first_list, second_list)) }}
{%- endmacro %}

{% macro default__list_concat(first_list, second_list) -%}
    list_concat({{ first_list }}, {{ second_list }})
{%- endmacro %}

{% macro spark__list_concat(first_list, second_list) -%}
    concat(coalesce({{ first_list }}, array()), coalesce({{ second_list }}, array()))
{%- endmacro %}

{#- Whether `predicate` (an expression of `item_name`) holds for some item of a list. -#}
{% macro list_any(list_expression, item_name, predicate) -%}
    {{ return(adapter.dispatch('list_any')(list_expression, item_name, predicate)) }}
{%- endmacro %}

{% macro default__list_any(list_expression, item_name, predicate) -%}
    list_bool_or(list_transform({{ list_expression }}, lambda {{ item_name }}: {{ predicate }}))
{%- endmacro %}

{% macro spark__list_any(list_expression, item_name, predicate) -%}
    exists({{ list_expression }}, {{ item_name }} -> {{ predicate }})
{%- endmacro %}

{#- A hook replacing every row of `table` with the rows of `select_sql`. Spark's parquet tables
    take no `delete`: an `insert overwrite` is one statement that does both. -#}
{% macro replace_rows(table, select_sql) -%}
    {{ return(adapter.dispatch('replace_rows')(table, select_sql)) }}
{%- endmacro %}

{% macro default__replace_rows(table, select_sql) -%}
    delete from {{ table }};
    insert into {{ table }}
    {{ select_sql }}
{%- endmacro %}

{% macro spark__replace_rows(table, select_sql) -%}
    insert overwrite {{ table }}
    {{ select_sql }}
{%- endmacro %}

{#- The text of a top-level key of a JSON object held as text (Stripe `metadata`), null when absent. -#}
{% macro json_text(json_expression, key) -%}
    {{ return(adapter.dispatch('json_text')(json_expression, key)) }}
{%- endmacro %}

{% macro default__json_text(json_expression, key) -%}
    json_extract_string({{ json_expression }}, '$.{{ key }}')
{%- endmacro %}

{% macro spark__json_text(json_expression, key) -%}
    get_json_object({{ json_expression }}, '$.{{ key }}')
{%- endmacro %}

{#- An integer type wide enough for a product of two amounts in minor units (beyond bigint). -#}
{% macro wide_integer() -%}
    {{ return(adapter.dispatch('wide_integer')()) }}
{%- endmacro %}

{% macro default__wide_integer() -%}
    hugeint
{%- endmacro %}

{% macro spark__wide_integer() -%}
    decimal(38, 0)
{%- endmacro %}

{#- The sum of `expression` (an expression of `item_name`) over the items of a list; null for an
    empty list on DuckDB, 0 on Spark (callers coalesce). -#}
{% macro list_sum_of(list_expression, item_name, expression) -%}
    {{ return(adapter.dispatch('list_sum_of')(list_expression, item_name, expression)) }}
{%- endmacro %}

{% macro default__list_sum_of(list_expression, item_name, expression) -%}
    list_sum(list_transform({{ list_expression }}, lambda {{ item_name }}: {{ expression }}))
{%- endmacro %}

{% macro spark__list_sum_of(list_expression, item_name, expression) -%}
    aggregate({{ list_expression }}, cast(0 as bigint), (total, {{ item_name }}) -> total + {{ expression }})
{%- endmacro %}

{#- A UTC timestamp as the wall-clock time of `timezone` (a time zone name), without zone. -#}
{% macro local_timestamp(utc_timestamp, timezone) -%}
    {{ return(adapter.dispatch('local_timestamp')(utc_timestamp, timezone)) }}
{%- endmacro %}

{% macro default__local_timestamp(utc_timestamp, timezone) -%}
    cast(timezone('{{ timezone }}', timezone('UTC', {{ utc_timestamp }})) as timestamp)
{%- endmacro %}

{% macro spark__local_timestamp(utc_timestamp, timezone) -%}
    from_utc_timestamp({{ utc_timestamp }}, '{{ timezone }}')
{%- endmacro %}

{#- The first days of the months from `start_month` to `end_month` inclusive (both first days), as a list. -#}
{% macro month_list(start_month, end_month) -%}
    {{ return(adapter.dispatch('month_list')(start_month, end_month)) }}
{%- endmacro %}

{% macro default__month_list(start_month, end_month) -%}
    generate_series({{ start_month }}, {{ end_month }}, interval 1 month)
{%- endmacro %}

{% macro spark__month_list(start_month, end_month) -%}
    sequence({{ start_month }}, {{ end_month }}, interval 1 month)
{%- endmacro %}

{#- An as-of join: each row of the left side with the `relation` row of equal `columns` whose
    `right_date` is the latest on or before `left_date` (DuckDB's `asof` join). Spark has none: it
    joins each row to the one span [right_date, next right_date) holding `left_date`, which is the
    same row when `relation` has one row per `columns` and date (fx_rates' uniqueness test). -#}
{% macro asof_join(join_kind, left_alias, relation, alias, columns, left_date, right_date) -%}
    {{ return(adapter.dispatch('asof_join')(join_kind, left_alias, relation, alias, columns, left_date, right_date)) }}
{%- endmacro %}

{% macro default__asof_join(join_kind, left_alias, relation, alias, columns, left_date, right_date) -%}
    asof {{ join_kind }} join {{ relation }} as {{ alias }}
        on {% for column in columns %}{{ left_alias }}.{{ column }} = {{ alias }}.{{ column }} and {% endfor -%}
        {{ left_date }} >= {{ alias }}.{{ right_date }}
{%- endmacro %}

{% macro spark__asof_join(join_kind, left_alias, relation, alias, columns, left_date, right_date) -%}
    {{ join_kind }} join (
        select *, lead({{ right_date }}) over (partition by {{ columns | join(', ') }} order by {{ right_date }}) as asof_next_date
        from {{ relation }}
    ) as {{ alias }}
        on {% for column in columns %}{{ left_alias }}.{{ column }} = {{ alias }}.{{ column }} and {% endfor -%}
        {{ left_date }} >= {{ alias }}.{{ right_date }}
        and ({{ alias }}.asof_next_date is null or {{ left_date }} < {{ alias }}.asof_next_date)
{%- endmacro %}

{#- The distinct values of `expression` in a group, sorted, joined by `separator`. -#}
{% macro sorted_distinct_string_agg(expression, separator) -%}
    {{ return(adapter.dispatch('sorted_distinct_string_agg')(expression, separator)) }}
{%- endmacro %}

{% macro default__sorted_distinct_string_agg(expression, separator) -%}
    string_agg(distinct {{ expression }}, '{{ separator }}' order by {{ expression }})
{%- endmacro %}

{% macro spark__sorted_distinct_string_agg(expression, separator) -%}
    array_join(array_sort(collect_set({{ expression }})), '{{ separator }}')
{%- endmacro %}

{#- The current time in UTC, without zone. -#}
{% macro utc_now() -%}
    {{ return(adapter.dispatch('utc_now')()) }}
{%- endmacro %}

{% macro default__utc_now() -%}
    cast(timezone('UTC', now()) as timestamp)
{%- endmacro %}

{% macro spark__utc_now() -%}
    to_utc_timestamp(current_timestamp(), current_timezone())
{%- endmacro %}
