{#
    Imputation of nulls (mean, median, most frequent, constant): fit on training rows, store,
    apply unchanged at scoring.

    fit_imputer(relation, columns, strategy='mean', fill_value=none, where=none, partition_by=none)
        A select of the fitted fill values, to materialize as a table at training time.
        - relation, where, partition_by: as in fit_scaler (training rows, their filter, one
          fit per partition value for walk-forward windows).
        - columns: column name(s); numeric for every strategy, text (varchar) for
          'most_frequent' and 'constant'. Other types (dates, booleans) and mean/median of
          text fail the fit with a clear error when it runs.
        - strategy: 'mean' | 'median' | 'most_frequent' | 'constant'.
        - fill_value: for 'constant' only; default 0 for numeric and 'missing_value' for text
          columns (sklearn's defaults). A text fill_value for a numeric column fails the fit.
        Output, one row per (partition, column):
            <partition_by columns...>, column_name varchar, strategy varchar,
            value_type varchar ('numeric' | 'text'), fill_value double (numeric columns),
            fill_value_text varchar (text columns), n_samples bigint (non-null training
            values), n_missing bigint (null training values)

    apply_imputer(relation, params_relation, columns, partition_by=none)
        A select of every row and every column of `relation`, in order, with each of `columns`
        replaced in place by coalesce(value, fitted fill value): numeric columns become double
        (as sklearn returns floats), text columns stay varchar. It reads the value types of
        `params_relation` at compile time (run_query), so pass the fit model with ref().
        With partition_by, a row uses the fit of its own partition; a row whose partition was
        never fitted keeps its nulls.

    Matching scikit-learn 1.9 SimpleImputer (max abs difference 1e-9 in tests/dbt):
    - nulls are ignored when fitting (mean/median/mode of the non-null values).
    - median: the middle value, or the mean of the two middle values for an even count
      (numpy's median; DuckDB quantile_cont(0.5)).
    - most_frequent: ties go to the smallest value (numeric order for numbers, code-point
      order for text), as sklearn does.
    - constant: fill_value as given, or sklearn's defaults above.
    Deliberate difference: with mean/median/most_frequent, a column with no non-null training
    value has no statistic; it is kept (sklearn drops it unless keep_empty_features=True,
    which fills 0) and its nulls stay null, so a model downstream sees the gap.
#}

{% macro fit_imputer(relation, columns, strategy='mean', fill_value=none, where=none, partition_by=none) %}
    {%- set columns = _prep_as_list(columns) -%}
    {%- set partitions = _prep_as_list(partition_by) -%}
    {%- do _prep_require_columns('fit_imputer', columns) -%}
    {%- if strategy not in ['mean', 'median', 'most_frequent', 'constant'] -%}
        {{ exceptions.raise_compiler_error(
            "fit_imputer: strategy must be 'mean', 'median', 'most_frequent' or 'constant', got '"
            ~ strategy ~ "'."
        ) }}
    {%- endif -%}
    {%- if fill_value is not none and strategy != 'constant' -%}
        {{ exceptions.raise_compiler_error("fit_imputer: fill_value only goes with strategy='constant'.") }}
    {%- endif -%}
    {%- set numeric_types = [
        'TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT',
        'UINTEGER', 'UBIGINT', 'UHUGEINT', 'FLOAT', 'DOUBLE'
    ] -%}

    with

    {{ _prep_training_rows(relation, where) }},

    {% for column in columns %}
    {%- set quoted = _prep_quote(column) %}

    _prep_summary_{{ loop.index }} as (

        select
            {{ _prep_partition_columns(partitions) }}
            case
                when typeof(max({{ quoted }})) in ('{{ numeric_types | join("', '") }}')
                    or typeof(max({{ quoted }})) like 'DECIMAL%'
                    then 'numeric'
                when typeof(max({{ quoted }})) = 'VARCHAR' then 'text'
                else error(
                    'fit_imputer: column ' || {{ _prep_literal(column) }} || ' has type '
                    || typeof(max({{ quoted }})) || '; only numeric and varchar columns are supported'
                )
            end as value_type,
            count({{ quoted }}) as n_samples,
            count(*) - count({{ quoted }}) as n_missing,
            {% if strategy == 'mean' %}
            avg(try_cast({{ quoted }} as double)) as statistic
            {% elif strategy == 'median' %}
            quantile_cont(try_cast({{ quoted }} as double), 0.5) as statistic
            {% else %}
            cast(null as double) as statistic
            {% endif %}

        from _prep_training
        {{ _prep_group_by(partitions) }}

    ),

    {% if strategy == 'most_frequent' %}
    _prep_mode_{{ loop.index }} as (

        select
            {{ _prep_partition_columns(partitions) }}
            {{ quoted }} as mode_value

        from _prep_training
        where {{ quoted }} is not null
        group by {{ _prep_partition_columns(partitions) }} {{ quoted }}
        qualify row_number() {{ _prep_over(partitions, 'count(*) desc, ' ~ quoted ~ ' asc') }} = 1

    ),
    {% endif %}

    _prep_fill_{{ loop.index }} as (

        select
            {{ _prep_partition_columns(partitions, '_prep_summary') }}
            {{ _prep_literal(column) }} as column_name,
            {{ _prep_literal(strategy) }} as strategy,
            _prep_summary.value_type,
            {% if strategy in ['mean', 'median'] %}
            case
                when _prep_summary.value_type = 'numeric' then _prep_summary.statistic
                else error('fit_imputer: strategy {{ strategy }} needs a numeric column, not ' || {{ _prep_literal(column) }})
            end as fill_value,
            cast(null as {{ dbt.type_string() }}) as fill_value_text,
            {% elif strategy == 'most_frequent' %}
            case
                when _prep_summary.value_type = 'numeric' then try_cast(_prep_mode.mode_value as double)
            end as fill_value,
            case
                when _prep_summary.value_type = 'text' then cast(_prep_mode.mode_value as {{ dbt.type_string() }})
            end as fill_value_text,
            {% else %}
            {% if fill_value is none %}
            case when _prep_summary.value_type = 'numeric' then cast(0 as double) end as fill_value,
            case when _prep_summary.value_type = 'text' then 'missing_value' end as fill_value_text,
            {% elif fill_value is number %}
            case when _prep_summary.value_type = 'numeric' then cast({{ fill_value }} as double) end as fill_value,
            case when _prep_summary.value_type = 'text' then {{ _prep_literal(fill_value) }} end as fill_value_text,
            {% else %}
            case
                when _prep_summary.value_type = 'numeric'
                    then error('fit_imputer: fill_value ' || {{ _prep_literal(fill_value) }} || ' is not a number but column ' || {{ _prep_literal(column) }} || ' is numeric')
            end as fill_value,
            case when _prep_summary.value_type = 'text' then {{ _prep_literal(fill_value) }} end as fill_value_text,
            {% endif %}
            {% endif %}
            _prep_summary.n_samples,
            _prep_summary.n_missing

        from _prep_summary_{{ loop.index }} as _prep_summary
        {% if strategy == 'most_frequent' %}
        left join _prep_mode_{{ loop.index }} as _prep_mode
            on {{ _prep_partition_match('_prep_summary', '_prep_mode', partitions) }}
        {% endif %}

    ),
    {% endfor %}

    final as (

        {% for column in columns %}
        select * from _prep_fill_{{ loop.index }}
        {% if not loop.last %}union all{% endif %}
        {% endfor %}

    )

    select * from final
{%- endmacro %}


{% macro apply_imputer(relation, params_relation, columns, partition_by=none) %}
    {%- set columns = _prep_as_list(columns) -%}
    {%- set partitions = _prep_as_list(partition_by) -%}
    {%- do _prep_require_columns('apply_imputer', columns) -%}
    {%- set fitted = _prep_fetch_params(
        'apply_imputer', params_relation,
        'select column_name, min(value_type) as value_type from ' ~ params_relation
        ~ ' group by column_name order by column_name'
    ) -%}
    {%- if fitted is none -%}
    select * from {{ relation }}  /* placeholder: {{ params_relation }} is not built yet */
    {%- else -%}
    {%- set value_types = {} -%}
    {%- for row in fitted.rows -%}{%- do value_types.update({row[0]: row[1]}) -%}{%- endfor -%}
    {%- do _prep_require_fitted('apply_imputer', params_relation, columns, value_types.keys() | list) -%}

    with

    {{ _prep_numbered_source(relation) }},

    _prep_params as (

        select
            {{ _prep_partition_columns(partitions) }}
            {% for column in columns %}
            {%- set fill_column = 'fill_value_text' if value_types[column] == 'text' else 'fill_value' %}
            max({{ fill_column }}) filter (where column_name = {{ _prep_literal(column) }}) as _prep_fill_{{ loop.index }}
            {%- if not loop.last %},{% endif %}
            {% endfor %}

        from {{ params_relation }}
        {{ _prep_group_by(partitions) }}

    ),

    _prep_joined as (

        select
            _prep_source.*,
            {% for column in columns %}
            _prep_params._prep_fill_{{ loop.index }}
            {%- if not loop.last %},{% endif %}
            {% endfor %}

        from _prep_source
        left join _prep_params
            on {{ _prep_partition_match('_prep_source', '_prep_params', partitions) }}

    )

    select
        * exclude (
            _prep_row_number,
            {% for column in columns %}
            _prep_fill_{{ loop.index }}
            {%- if not loop.last %},{% endif %}
            {% endfor %}
        )
        replace (
            {% for column in columns %}
            {% if value_types[column] == 'text' %}
            coalesce({{ _prep_quote(column) }}, _prep_fill_{{ loop.index }}) as {{ _prep_quote(column) }}
            {%- else %}
            coalesce(cast({{ _prep_quote(column) }} as double), _prep_fill_{{ loop.index }}) as {{ _prep_quote(column) }}
            {%- endif %}
            {%- if not loop.last %},{% endif %}
            {% endfor %}
        )

    from _prep_joined
    order by _prep_row_number
    {%- endif -%}
{%- endmacro %}
