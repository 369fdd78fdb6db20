{#- Groups for the combined and split deposit rules: every run of 2 to max_group_size consecutive
    rows of `rows` (numbered per partition in `order_by` order), as three CTEs:
      <name>_numbered   the rows with their `position` and running sum of `amount_column`
      <name>_run_ends   each run by its last row and size (`end_position`, `group_size`)
      <name>_runs       its sum (`amount_minor`, last running total minus the one before its first
                        row, so no member is read until a sum is wanted), `first_<c>`/`last_<c>` of
                        the columns asked for, and its `amount_bucket`s for the equi-join on amount
    The start of a run is a step of its own so that it is found by an equi-join on the partition
    and position: no range join, so the work grows linearly. `rule` is a one-row relation of the
    seed bank_matching_rules. -#}
{% macro consecutive_runs(name, rows, partition_by, order_by, amount_column, rule, first_columns, last_columns) -%}
{{ name }}_numbered as {{ materialized_cte() }} (

    select
        *,
        row_number() over by_order as position,
        sum({{ amount_column }}) over by_order as running_sum_minor
    from {{ rows }}
    window by_order as (partition by {{ partition_by | join(', ') }} order by {{ order_by | join(', ') }} rows unbounded preceding)

),

{{ name }}_run_ends as {{ materialized_cte() }} (

    select
        {% for column in partition_by %}ends.{{ column }},
        {% endfor -%}
        ends.position as end_position,
        ends.running_sum_minor,
        {% for column in last_columns %}ends.{{ column }} as last_{{ column }},
        {% endfor -%}
        sizes.group_size,
        ends.position - sizes.group_size + 1 as start_position
    from {{ name }}_numbered as ends
    cross join (select {{ unnest_integers(2, 'max_group_size', 'group_size') }} from {{ rule }}) as sizes

),

{{ name }}_runs as (

    select
        {% for column in partition_by %}run_ends.{{ column }},
        {% endfor -%}
        run_ends.end_position,
        run_ends.group_size,
        run_ends.running_sum_minor - starts.running_sum_minor + starts.{{ amount_column }} as amount_minor,
        {% for column in first_columns %}starts.{{ column }} as first_{{ column }},
        {% endfor -%}
        {% for column in last_columns %}run_ends.last_{{ column }},
        {% endfor -%}
        {{ integer_divide(
            'run_ends.running_sum_minor - starts.running_sum_minor + starts.' ~ amount_column,
            'rule.amount_tolerance_minor + 1'
        ) }} + buckets.bucket_offset as amount_bucket
    from {{ name }}_run_ends as run_ends
    cross join {{ rule }} as rule
    inner join {{ name }}_numbered as starts
        on {% for column in partition_by %}run_ends.{{ column }} = starts.{{ column }}
        and {% endfor -%}
        run_ends.start_position = starts.position
    inner join {{ neighbouring_buckets() }} as buckets
        on rule.amount_tolerance_minor <> 0 or buckets.bucket_offset = 0

)
{%- endmacro %}

{#- The member positions of the runs in `pairs` (rows with `end_position` and `group_size`): one row
    per member, `member_position` to be joined to <name>_numbered.position. -#}
{% macro run_member_positions(pairs, rule) -%}
    select pairs.*, pairs.end_position - offsets.member_offset as member_position
    from {{ pairs }} as pairs
    cross join (select {{ unnest_integers(0, 'max_group_size - 1', 'member_offset') }} from {{ rule }}) as offsets
    where offsets.member_offset < pairs.group_size
{%- endmacro %}

{#- The amount buckets an amount is joined on besides its own: with a tolerance, a sum within it of
    an amount can fall in the bucket either side (offsets -1 and 1); without, only its own (0). -#}
{% macro neighbouring_buckets() -%}
    (select * from (values (-1), (0), (1)) as offsets (bucket_offset))
{%- endmacro %}
