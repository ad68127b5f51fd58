{#
    Shared helpers of the preprocessing macros (fit_* / apply_*); not meant for models.

    How the pairs are used (see scaler.sql, imputer.sql, one_hot.sql for each contract):

        -- a fit model, materialized as a table, built from training rows only
        {{ fit_scaler(ref('customer_snapshots'), ['mrr', 'tenure_days'], where='is_labeled') }}

        -- an apply model: reads the stored fit, never re-fits on the rows it transforms
        {{ apply_scaler(ref('customer_snapshots'), ref('prep_scaler_fit'), ['mrr', 'tenure_days']) }}

    Every macro returns a complete `with ... select` query: make it a model's whole body, or
    wrap it in parentheses to use it as a subquery.

    - identifiers go through adapter.quote (embedded double quotes doubled),
    - string literals through dbt.escape_single_quotes, so "O'Brien & Co" is safe,
    - `partition_by` (one fit per training window) becomes group-by keys in the fits and
      `is not distinct from` join keys in the applies (a null partition value is one more
      partition, matched by null),
    - applies number the input rows (row_number() over ()) and order the result by that
      number: joins may reorder rows on multi-threaded DuckDB, the output must not,
    - applies read their fitted parameter table at compile time (run_query) where the SQL
      they generate depends on it; when it is missing they fail, except in compile-only
      commands, which get a placeholder (see _prep_fetch_params).

    Internal names (CTEs and helper columns) start with `_prep_`; input relations should not
    use that prefix.
#}

{% macro _prep_as_list(value) %}
    {%- if value is none -%}
        {{ return([]) }}
    {%- elif value is string -%}
        {{ return([value]) }}
    {%- else -%}
        {{ return(value | list) }}
    {%- endif -%}
{%- endmacro %}


{% macro _prep_quote(name) %}
    {{ return(adapter.quote(name | string | replace('"', '""'))) }}
{%- endmacro %}


{% macro _prep_literal(value) %}
    {{ return("'" ~ dbt.escape_single_quotes(value | string) ~ "'") }}
{%- endmacro %}


{#- "p1", "p2", (with a trailing comma) or nothing: the partition keys of a select list. -#}
{% macro _prep_partition_columns(partitions, qualifier=none) %}
    {%- for partition in partitions -%}
        {% if qualifier %}{{ qualifier }}.{% endif %}{{ _prep_quote(partition) }},
    {%- endfor -%}
{%- endmacro %}


{#- `group by "p1", "p2"` or nothing (one global fit). -#}
{% macro _prep_group_by(partitions) %}
    {%- if partitions -%}
        group by {% for partition in partitions %}{{ _prep_quote(partition) }}{% if not loop.last %}, {% endif %}{% endfor %}
    {%- endif -%}
{%- endmacro %}


{#- A window over the partitions: `over (partition by ... order by ...)`. -#}
{% macro _prep_over(partitions, order_by=none) %}
    {%- set clauses = [] -%}
    {%- if partitions -%}
        {%- set keys = [] -%}
        {%- for partition in partitions -%}{%- do keys.append(_prep_quote(partition)) -%}{%- endfor -%}
        {%- do clauses.append('partition by ' ~ (keys | join(', '))) -%}
    {%- endif -%}
    {%- if order_by -%}{%- do clauses.append('order by ' ~ order_by) -%}{%- endif -%}
    over ({{ clauses | join(' ') }})
{%- endmacro %}


{#- Join condition matching rows to the fit of their partition (`true` without partitions). -#}
{% macro _prep_partition_match(left, right, partitions) %}
    {%- if not partitions -%}
        true
    {%- else -%}
        {%- for partition in partitions -%}
            {{ left }}.{{ _prep_quote(partition) }} is not distinct from {{ right }}.{{ _prep_quote(partition) }}
            {%- if not loop.last %} and {% endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}


{#
    Rows of `query` (which reads the fitted parameters), or none when nothing can be read:
    at parse time, or in a command that only compiles (compile, docs generate, list) before
    the parameters were ever built. In any command that executes SQL (run, build, show,
    retry...) a missing table is an error, never a placeholder: `ref` builds the parameters
    first, so a missing table means a wrong relation or a failed fit.
#}
{% macro _prep_fetch_params(macro_name, params_relation, query) %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if load_relation(params_relation) is none -%}
        {%- if flags.WHICH not in ['compile', 'generate', 'docs', 'list', 'ls', 'parse'] -%}
            {{ exceptions.raise_compiler_error(
                macro_name ~ ": the fitted parameters " ~ params_relation ~ " do not exist; build "
                ~ "the model that fits them first (pass it with ref() so dbt orders the two)."
            ) }}
        {%- endif -%}
        {{ log(macro_name ~ ": " ~ params_relation ~ " is not built yet; its fitted parameters are not read.", info=true) }}
        {{ return(none) }}
    {%- endif -%}
    {{ return(run_query(query)) }}
{%- endmacro %}


{#- Fail when some requested columns were never fitted in `params_relation`. -#}
{% macro _prep_require_fitted(macro_name, params_relation, columns, fitted_columns) %}
    {%- set missing = [] -%}
    {%- for column in columns -%}
        {%- if column not in fitted_columns -%}{%- do missing.append(column) -%}{%- endif -%}
    {%- endfor -%}
    {%- if missing -%}
        {{ exceptions.raise_compiler_error(
            macro_name ~ ": " ~ params_relation ~ " holds no fitted parameters for "
            ~ (missing | join(', ')) ~ " (fitted: " ~ (fitted_columns | join(', ')) ~ ")."
        ) }}
    {%- endif -%}
{%- endmacro %}


{#- `where column_name in ('a', 'b')` for queries on a parameter table. -#}
{% macro _prep_column_filter(columns) %}
    {%- set literals = [] -%}
    {%- for column in columns -%}{%- do literals.append(_prep_literal(column)) -%}{%- endfor -%}
    column_name in ({{ literals | join(', ') }})
{%- endmacro %}


{% macro _prep_require_columns(macro_name, columns) %}
    {%- if not columns -%}
        {{ exceptions.raise_compiler_error(macro_name ~ ": pass at least one column.") }}
    {%- endif -%}
{%- endmacro %}


{#- CTE `_prep_source`: the input rows numbered, so apply macros can return them in order. -#}
{% macro _prep_numbered_source(relation) %}
    _prep_source as (

        select
            *,
            row_number() over () as _prep_row_number

        from {{ relation }}

    )
{%- endmacro %}


{#- CTE `_prep_training`: the rows a fit learns from (`where` filters them, e.g. by time). -#}
{% macro _prep_training_rows(relation, where) %}
    _prep_training as (

        select * from {{ relation }}
        {% if where %}where {{ where }}{% endif %}

    )
{%- endmacro %}
