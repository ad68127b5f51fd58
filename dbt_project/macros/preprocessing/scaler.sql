{#
    Standard and min-max scaling: fit on training rows, store, apply unchanged at scoring.

    fit_scaler(relation, columns, method='standard', where=none, partition_by=none)
        A select of the fitted parameters, to materialize as a table at training time.
        - relation: the training rows (a ref/source, or a CTE name when used in a subquery).
        - columns: numeric column name(s) to fit.
        - method: 'standard' (sklearn StandardScaler) or 'minmax' (MinMaxScaler, range 0-1).
        - where: optional SQL predicate choosing the training rows, e.g. "is_training".
        - partition_by: optional column(s) such as a fit cutoff date; one fit per value, so one
          table holds every training window of a walk-forward backtest.
        Output, one row per (partition, column):
            <partition_by columns...>, column_name varchar, method varchar,
            center double, scale double, n_samples bigint (non-null training values)
        Scaled value = (value - center) / scale.

    apply_scaler(relation, params_relation, columns, partition_by=none)
        A select of every row and every column of `relation`, in order, with each of
        `columns` replaced in place by its scaled double. It only reads `params_relation`
        (pass the fit model with ref()); it never looks at the distribution of `relation`.
        With partition_by, a row uses the fit whose partition values equal its own; a row
        whose partition was never fitted gets null.

    Matching scikit-learn 1.9 (max abs difference 1e-9 in tests/dbt):
    - standard: center = mean, scale = population std (ddof=0). A column sklearn deems
      constant (var <= n*eps*var + (n*mean*eps)^2, `_is_constant_feature`) gets scale 1.
    - minmax: center = min, scale = max - min; a range below 10*eps gets scale 1
      (`_handle_zeros_in_scale`). Scoring values outside the training range are not clipped
      (sklearn's default clip=False), so they fall outside [0, 1].
    - nulls are ignored when fitting and stay null when applying (sklearn's NaN handling).
    - computed in double precision (dbt.type_float() is a 4-byte FLOAT on DuckDB, so the
      macros write `double`).
#}

{% macro fit_scaler(relation, columns, method='standard', where=none, partition_by=none) %}
    {%- set columns = _prep_as_list(columns) -%}
    {%- set partitions = _prep_as_list(partition_by) -%}
    {%- do _prep_require_columns('fit_scaler', columns) -%}
    {%- if method not in ['standard', 'minmax'] -%}
        {{ exceptions.raise_compiler_error(
            "fit_scaler: method must be 'standard' or 'minmax', got '" ~ method ~ "'."
        ) }}
    {%- endif -%}
    {%- set eps = 'cast(2.220446049250313e-16 as double)' -%}

    with

    {{ _prep_training_rows(relation, where) }},

    _prep_moments as (

        {% for column in columns %}
        select
            {{ _prep_partition_columns(partitions) }}
            {{ _prep_literal(column) }} as column_name,
            count({{ _prep_quote(column) }}) as n_samples,
            avg(cast({{ _prep_quote(column) }} as double)) as mean_value,
            var_pop(cast({{ _prep_quote(column) }} as double)) as variance,
            min(cast({{ _prep_quote(column) }} as double)) as min_value,
            max(cast({{ _prep_quote(column) }} as double)) as max_value

        from _prep_training
        {{ _prep_group_by(partitions) }}
        {% if not loop.last %}union all{% endif %}
        {% endfor %}

    ),

    final as (

        select
            {{ _prep_partition_columns(partitions) }}
            column_name,
            {{ _prep_literal(method) }} as method,
            {% if method == 'standard' %}
            mean_value as center,
            case
                when variance
                    <= n_samples * {{ eps }} * variance + power(n_samples * mean_value * {{ eps }}, 2)
                    then cast(1 as double)
                else sqrt(variance)
            end as scale,
            {% else %}
            min_value as center,
            case
                when max_value - min_value < 10 * {{ eps }} then cast(1 as double)
                else max_value - min_value
            end as scale,
            {% endif %}
            n_samples

        from _prep_moments

    )

    select * from final
{%- endmacro %}


{% macro apply_scaler(relation, params_relation, columns, partition_by=none) %}
    {%- set columns = _prep_as_list(columns) -%}
    {%- set partitions = _prep_as_list(partition_by) -%}
    {%- do _prep_require_columns('apply_scaler', columns) -%}
    {%- set fitted = _prep_fetch_params(
        'apply_scaler', params_relation,
        'select distinct column_name from ' ~ params_relation ~ ' order by column_name'
    ) -%}
    {%- if fitted is not none -%}
        {%- do _prep_require_fitted(
            'apply_scaler', params_relation, columns, fitted.columns[0].values() | list
        ) -%}
    {%- endif -%}

    with

    {{ _prep_numbered_source(relation) }},

    _prep_params as (

        select
            {{ _prep_partition_columns(partitions) }}
            {% for column in columns %}
            max(center) filter (where column_name = {{ _prep_literal(column) }}) as _prep_center_{{ loop.index }},
            max(scale) filter (where column_name = {{ _prep_literal(column) }}) as _prep_scale_{{ loop.index }}
            {%- if not loop.last %},{% endif %}
            {% endfor %}

        from {{ params_relation }}
        {{ _prep_group_by(partitions) }}

    ),

    _prep_joined as (

        select
            _prep_source.*,
            {% for column in columns %}
            _prep_params._prep_center_{{ loop.index }},
            _prep_params._prep_scale_{{ loop.index }}
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
            _prep_center_{{ loop.index }},
            _prep_scale_{{ loop.index }}
            {%- if not loop.last %},{% endif %}
            {% endfor %}
        )
        replace (
            {% for column in columns %}
            (cast({{ _prep_quote(column) }} as double) - _prep_center_{{ loop.index }})
                / _prep_scale_{{ loop.index }} as {{ _prep_quote(column) }}
            {%- if not loop.last %},{% endif %}
            {% endfor %}
        )

    from _prep_joined
    order by _prep_row_number
{%- endmacro %}
