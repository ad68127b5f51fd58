{#
    SQL that DuckDB and Spark write differently, behind adapter.dispatch: `duckdb__` for the
    DuckDB engine, `spark__` for Spark (dbt-spark, the localspark adapter and dbt-databricks
    all fall back to it). Everything else in the models is SQL both engines accept as
    written (docs/spark.md lists what was checked), or one of dbt's cross-database macros.
#}


{# A one-column select of the integers `first` to `last` (both included), named `name`. #}
{% macro integer_rows(first, last, name) %}
    {{- return(adapter.dispatch('integer_rows')(first, last, name)) -}}
{% endmacro %}

{% macro duckdb__integer_rows(first, last, name) -%}
    select unnest(range({{ first }}, {{ last + 1 }})) as {{ name }}
{%- endmacro %}

{% macro spark__integer_rows(first, last, name) -%}
    select explode(sequence({{ first }}, {{ last }})) as {{ name }}
{%- endmacro %}


{# Every column of the relation in scope but `columns` (a list of names). #}
{% macro star_except(columns) %}
    {{- return(adapter.dispatch('star_except')(columns)) -}}
{% endmacro %}

{% macro duckdb__star_except(columns) -%}
    * exclude ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__star_except(columns) -%}
    * except ({{ columns | join(', ') }})
{%- endmacro %}


{#
    A join clause adding one row per month start from `first` to `last` (dates, both
    included) as `alias.column`, of type timestamp on DuckDB and date on Spark: cast it.
#}
{% macro cross_join_month_starts(first, last, alias, column) %}
    {{- return(adapter.dispatch('cross_join_month_starts')(first, last, alias, column)) -}}
{% endmacro %}

{% macro duckdb__cross_join_month_starts(first, last, alias, column) -%}
    cross join
        unnest(generate_series(
            cast({{ first }} as timestamp),
            cast({{ last }} as timestamp),
            interval 1 month
        )) as {{ alias }} ({{ column }})
{%- endmacro %}

{% macro spark__cross_join_month_starts(first, last, alias, column) -%}
    cross join
        lateral explode(sequence(
            cast({{ first }} as date),
            cast({{ last }} as date),
            interval 1 month
        )) as {{ alias }} ({{ column }})
{%- endmacro %}


{#
    The first anniversary of `start` after `as_of` by whole `period`s ('year' or 'month'),
    counted as DuckDB's date_sub does (a period ending on a shorter month's last day is whole).
#}
{% macro next_anniversary(start, as_of, period) %}
    {{- return(adapter.dispatch('next_anniversary')(start, as_of, period)) -}}
{% endmacro %}

{% macro duckdb__next_anniversary(start, as_of, period) -%}
    {%- set to_interval = 'to_years' if period == 'year' else 'to_months' -%}
    ({{ start }} + {{ to_interval }}(cast(date_sub('{{ period }}', {{ start }}, {{ as_of }}) as integer) + 1))
{%- endmacro %}

{% macro spark__next_anniversary(start, as_of, period) -%}
    {%- set months = '((year(' ~ as_of ~ ') - year(' ~ start ~ ')) * 12 + month(' ~ as_of ~ ') - month(' ~ start ~ '))' -%}
    {%- set whole_months = '(' ~ months ~ ' - case when add_months(' ~ start ~ ', ' ~ months ~ ') > ' ~ as_of ~ ' then 1 else 0 end)' -%}
    {%- if period == 'year' -%}
        add_months({{ start }}, 12 * (({{ whole_months }} div 12) + 1))
    {%- else -%}
        add_months({{ start }}, {{ whole_months }} + 1)
    {%- endif -%}
{%- endmacro %}


{#
    For every row of `left`, the `columns` of the row of `right` with the same `key` that is
    the newest with `right_date` < `left_date` (direction 'before') or the oldest with
    `right_date` >= `left_date` (direction 'from'); nulls when there is none. Returns `key`,
    `left_date` and the columns ("name" or "name as alias"). DuckDB has ASOF joins; Spark
    sorts both sides together per key and carries the match along a window.
#}
{% macro asof_rows(left, right, key, left_date, right_date, columns, direction) %}
    {%- if direction not in ('before', 'from') -%}
        {{ exceptions.raise_compiler_error("asof_rows: direction must be 'before' or 'from'") }}
    {%- endif -%}
    {{- return(adapter.dispatch('asof_rows')(left, right, key, left_date, right_date, columns, direction)) -}}
{% endmacro %}

{% macro _asof_column(column) %}
    {%- set parts = column.split(' as ') -%}
    {{- return({'name': parts[0] | trim, 'alias': (parts[1] if parts | length > 1 else parts[0]) | trim}) -}}
{% endmacro %}

{% macro duckdb__asof_rows(left, right, key, left_date, right_date, columns, direction) -%}
    select
        {{ left }}.{{ key }},
        {{ left }}.{{ left_date }},
        {%- for column in columns %}
            {%- set c = _asof_column(column) %}
        {{ right }}.{{ c.name }} as {{ c.alias }}{{ ',' if not loop.last }}
        {%- endfor %}

    from {{ left }}
    asof left join {{ right }}
        on
            {{ left }}.{{ key }} = {{ right }}.{{ key }}
            and {{ left }}.{{ left_date }} {{ '>' if direction == 'before' else '<=' }} {{ right }}.{{ right_date }}
{%- endmacro %}

{% macro spark__asof_rows(left, right, key, left_date, right_date, columns, direction) -%}
    {#- At equal dates the left row sorts first: out of the window before it ('before' is
        strict), inside the window after it ('from' includes the same date). -#}
    select
        {{ key }},
        _asof_date as {{ left_date }},
        {%- for column in columns %}
            {%- set c = _asof_column(column) %}
        _asof_match.{{ c.alias }} as {{ c.alias }}{{ ',' if not loop.last }}
        {%- endfor %}

    from (
        select
            {{ key }},
            _asof_date,
            _asof_is_left,
            {% if direction == 'before' -%}
                last(_asof_row, true) over (
                    partition by {{ key }} order by _asof_date, _asof_rank
                    rows between unbounded preceding and current row
                )
            {%- else -%}
                first(_asof_row, true) over (
                    partition by {{ key }} order by _asof_date, _asof_rank
                    rows between current row and unbounded following
                )
            {%- endif %} as _asof_match

        from (
            select
                {{ key }},
                {{ left_date }} as _asof_date,
                true as _asof_is_left,
                0 as _asof_rank,
                null as _asof_row
            from {{ left }}
            union all
            select
                {{ key }},
                {{ right_date }} as _asof_date,
                false as _asof_is_left,
                1 as _asof_rank,
                named_struct(
                    {%- for column in columns %}
                        {%- set c = _asof_column(column) %}
                    '{{ c.alias }}', {{ c.name }}{{ ',' if not loop.last }}
                    {%- endfor %}
                ) as _asof_row
            from {{ right }}
        ) as _asof_sorted
    ) as _asof_carried
    where _asof_is_left
{%- endmacro %}


{#
    A number as text with `decimals` decimals, thousands separators when `thousands`, and a
    sign when `sign`, rounded half to even like DuckDB's format('{:,.0f}') (Python's format
    mini-language); null stays null. Callers add units ('%', 'x').
#}
{% macro format_decimal(value, decimals, thousands=false, sign=false) %}
    {{- return(adapter.dispatch('format_decimal')(value, decimals, thousands, sign)) -}}
{% endmacro %}

{% macro duckdb__format_decimal(value, decimals, thousands, sign) -%}
    format('{:{{ "+" if sign }}{{ "," if thousands }}.{{ decimals }}f}', {{ value }})
{%- endmacro %}

{% macro spark__format_decimal(value, decimals, thousands, sign) -%}
    {%- set rounded = 'bround(' ~ value ~ ', ' ~ decimals ~ ')' -%}
    {%- set text = 'format_number(' ~ rounded ~ ', ' ~ decimals ~ ')' -%}
    {%- if not thousands -%}
        {%- set text = 'replace(' ~ text ~ ", ',', '')" -%}
    {%- endif -%}
    {%- if sign -%}
        (case when {{ rounded }} >= 0 then '+' else '' end || {{ text }})
    {%- else -%}
        {{ text }}
    {%- endif -%}
{%- endmacro %}


{#
    The raw tables' columns as DuckDB types them: DuckDB reads its own catalog; a Spark
    build reads the copy the pipeline writes before it starts (context.raw_columns), so the
    schema monitor compares like with like whatever engine built the previous build.
#}
{% macro raw_columns() %}
    {{- return(adapter.dispatch('raw_columns')()) -}}
{% endmacro %}

{% macro duckdb__raw_columns() -%}
    select * from information_schema.columns
    where table_catalog = 'raw'
{%- endmacro %}

{% macro spark__raw_columns() -%}
    select * from {{ source('context', 'raw_columns') }}
{%- endmacro %}
