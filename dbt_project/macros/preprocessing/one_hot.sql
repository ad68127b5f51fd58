{#
    One-hot encoding with an "other" bucket for rare categories and for categories first
    seen at scoring: fit on training rows, store, apply unchanged at scoring.

    fit_one_hot(relation, columns, max_categories=none, min_frequency=none, where=none, partition_by=none)
        A select of the fitted categories, to materialize as a table at training time.
        - relation, where, partition_by: as in fit_scaler.
        - columns: column name(s) of any type; categories are stored and compared as varchar
          (after sorting in the column's own type).
        - min_frequency: an int n (a category seen fewer than n times is rare) or a float
          f in (0, 1] (rarer than f * training rows).
        - max_categories: at most this many output columns per column, the "other" bucket
          included; the least frequent categories go to the bucket (ties: the smaller
          category goes first, like sklearn's stable sort).
        Output, one row per (partition, column, training category):
            <partition_by columns...>, column_name varchar, category varchar (null for the
            null category), frequency bigint (training rows), is_infrequent boolean,
            output_column varchar, position integer (order of output_column in the block)
        output_column is `<column>__<slug>` for a frequent category and `<column>__other` for
        a rare one. Slugs are lowercase [a-z0-9_] (DuckDB names are case-insensitive), at
        most 40 characters, 'empty' when nothing is left. `other` is reserved for the bucket
        and `null` for the null category; any other clash (e.g. "a b" and "a-b", "Premium"
        and "premium", or a category called "Other") gets a `__2`, `__3` suffix in category
        order. A slug never contains `__`, so suffixed names cannot clash with plain ones
        (`apply_one_hot` also refuses a name that clashes with an input column). Slugs and
        positions are computed over every partition together, so one category has one
        column in every training window; a suffix can change when a refit sees a new
        clashing category.

    apply_one_hot(relation, params_relation, columns, keep_original=false, partition_by=none)
        A select of every row of `relation` in order: its columns (minus `columns` unless
        keep_original), then for each of `columns` in the given order its integer 0/1
        indicator columns in `position` order: frequent categories in sorted order (nulls
        last) and `<column>__other` last, if the fit has rare categories. The set of
        indicator columns comes from the fit, so the macro reads `params_relation` at compile
        time with run_query (inside `execute`): the fit model must be built before the model
        that applies it, which passing it with ref() guarantees (`dbt compile` on a
        warehouse where it was never built compiles a placeholder).
        With partition_by, indicator columns are the union over all partitions; a row uses
        the categories of its own partition (0 in columns its partition does not have) and
        gets null indicators when its partition was never fitted.

    Matching scikit-learn 1.9 OneHotEncoder(handle_unknown='infrequent_if_exist',
    min_frequency=..., max_categories=..., sparse_output=False) (max abs difference 1e-9 in
    tests/dbt):
    - categories sorted like sklearn: numeric order for numbers, code-point order for text,
      null (sklearn's None/NaN category) last; null is a category like any other, counted
      and bucketed by the same rules.
    - min_frequency / max_categories select rare categories exactly as
      `_identify_infrequent`, including max_categories counting the bucket.
    - a category unseen in training goes to `<column>__other` when the fit has one; when it
      does not, all its indicators are 0 (sklearn's 'ignore' behaviour). `__other` is never
      added for unseen categories alone: the output then has exactly sklearn's columns.
    - indicators are integers (sklearn returns floats); `drop` is not supported.
#}

{% macro fit_one_hot(relation, columns, max_categories=none, min_frequency=none, where=none, partition_by=none) %}
    {%- set columns = _prep_as_list(columns) -%}
    {%- set partitions = _prep_as_list(partition_by) -%}
    {%- do _prep_require_columns('fit_one_hot', columns) -%}
    {%- if max_categories is not none and not (max_categories is integer and max_categories >= 1) -%}
        {{ exceptions.raise_compiler_error("fit_one_hot: max_categories must be an integer >= 1.") }}
    {%- endif -%}
    {%- if min_frequency is none -%}
        {%- set rare_when = 'false' -%}
    {%- elif min_frequency is integer and min_frequency >= 1 -%}
        {%- set rare_when = 'frequency < ' ~ min_frequency -%}
    {%- elif min_frequency is number and 0 < min_frequency <= 1 -%}
        {%- set rare_when = 'frequency < n_samples * cast(' ~ min_frequency ~ ' as double)' -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "fit_one_hot: min_frequency must be an integer >= 1 or a float in (0, 1]."
        ) }}
    {%- endif -%}

    with

    {{ _prep_training_rows(relation, where) }},

    {% for column in columns %}
    {%- set quoted = _prep_quote(column) %}

    _prep_counts_{{ loop.index }} as (

        select
            {{ _prep_partition_columns(partitions) }}
            {{ quoted }} as category_value,
            count(*) as frequency

        from _prep_training
        group by all

    ),

    {#- Category order and output names are global, shared by every partition. #}
    _prep_categories_{{ loop.index }} as (

        select
            category_value,
            cast(category_value as {{ dbt.type_string() }}) as category,
            row_number() over (order by category_value asc nulls last) as position

        from (select distinct category_value from _prep_counts_{{ loop.index }})

    ),

    _prep_slug_bases_{{ loop.index }} as (

        {#- 'other' is reserved for the bucket, 'null' for the null category. #}
        select
            cast(null as bigint) as position,
            -1 as priority,
            'other' as slug_base
        union all
        select
            position,
            case when category is null then 0 else position end as priority,
            case
                when category is null then 'null'
                else coalesce(
                    nullif(
                        trim(
                            left(
                                trim(regexp_replace(lower(category), '[^a-z0-9]+', '_', 'g'), '_'),
                                40
                            ),
                            '_'
                        ),
                        ''
                    ),
                    'empty'
                )
            end as slug_base

        from _prep_categories_{{ loop.index }}

    ),

    _prep_slugs_{{ loop.index }} as (

        select
            position,
            case
                when row_number() over (partition by slug_base order by priority) = 1 then slug_base
                else slug_base || '__' || row_number() over (partition by slug_base order by priority)
            end as slug

        from _prep_slug_bases_{{ loop.index }}

    ),

    _prep_rarity_{{ loop.index }} as (

        select
            _prep_counts.*,
            _prep_categories.category,
            _prep_categories.position,
            sum(_prep_counts.frequency) {{ _prep_over(partitions) }} as n_samples

        from _prep_counts_{{ loop.index }} as _prep_counts
        inner join _prep_categories_{{ loop.index }} as _prep_categories
            on _prep_counts.category_value is not distinct from _prep_categories.category_value

    ),

    _prep_ranked_{{ loop.index }} as (

        select
            *,
            {{ rare_when }} as is_rare,
            count(*) filter (where not ({{ rare_when }})) {{ _prep_over(partitions) }} as n_frequent,
            row_number() {{ _prep_over(partitions, 'frequency desc, position desc') }} as frequency_rank

        from _prep_rarity_{{ loop.index }}

    ),

    _prep_encoded_{{ loop.index }} as (

        select
            {{ _prep_partition_columns(partitions, '_prep_ranked') }}
            {{ _prep_literal(column) }} as column_name,
            _prep_ranked.category,
            _prep_ranked.frequency,
            {% if max_categories is none %}
            _prep_ranked.is_rare as is_infrequent,
            {% else %}
            _prep_ranked.is_rare
                or (
                    {{ max_categories }} < _prep_ranked.n_frequent + 1
                    and _prep_ranked.frequency_rank > {{ max_categories - 1 }}
                ) as is_infrequent,
            {% endif %}
            _prep_ranked.position,
            _prep_slugs.slug,
            (select count(*) from _prep_categories_{{ loop.index }}) + 1 as other_position

        from _prep_ranked_{{ loop.index }} as _prep_ranked
        inner join _prep_slugs_{{ loop.index }} as _prep_slugs
            on _prep_ranked.position = _prep_slugs.position

    ),
    {% endfor %}

    final as (

        {% for column in columns %}
        select
            {{ _prep_partition_columns(partitions) }}
            column_name,
            category,
            frequency,
            is_infrequent,
            {{ _prep_literal(column ~ '__') }}
                || case when is_infrequent then 'other' else slug end as output_column,
            cast(case when is_infrequent then other_position else position end as {{ dbt.type_int() }}) as position

        from _prep_encoded_{{ loop.index }}
        {% if not loop.last %}union all{% endif %}
        {% endfor %}

    )

    select * from final
{%- endmacro %}


{% macro apply_one_hot(relation, params_relation, columns, keep_original=false, partition_by=none) %}
    {%- set columns = _prep_as_list(columns) -%}
    {%- set partitions = _prep_as_list(partition_by) -%}
    {%- do _prep_require_columns('apply_one_hot', columns) -%}
    {%- set fitted = _prep_fetch_params(
        'apply_one_hot', params_relation,
        'select column_name, output_column, min(position) as position from ' ~ params_relation
        ~ ' where ' ~ _prep_column_filter(columns)
        ~ ' group by column_name, output_column order by column_name, min(position)'
    ) -%}
    {%- if fitted is none -%}
    select * from {{ relation }}  /* placeholder: {{ params_relation }} is not built yet */
    {%- else -%}
    {%- set outputs = {} -%}
    {%- for row in fitted.rows -%}
        {%- do outputs.setdefault(row[0], []).append(row[1]) -%}
    {%- endfor -%}
    {%- do _prep_require_fitted('apply_one_hot', params_relation, columns, outputs.keys() | list) -%}
    {%- set seen = {} -%}
    {%- if relation is not string -%}
        {%- for existing in adapter.get_columns_in_relation(relation) -%}
            {%- if keep_original or existing.name not in columns -%}
                {%- do seen.update({existing.name | lower: 'an input column'}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- for column in columns -%}
        {%- for output in outputs[column] -%}
            {%- if output | lower in seen -%}
                {{ exceptions.raise_compiler_error(
                    "apply_one_hot: output column " ~ output ~ " of " ~ column ~ " clashes with "
                    ~ seen[output | lower] ~ "; rename the column."
                ) }}
            {%- endif -%}
            {%- do seen.update({output | lower: 'the encoding of ' ~ column}) -%}
        {%- endfor -%}
    {%- endfor -%}

    with

    {{ _prep_numbered_source(relation) }},

    {% for column in columns %}
    _prep_categories_{{ loop.index }} as (

        select
            {{ _prep_partition_columns(partitions) }}
            category,
            output_column

        from {{ params_relation }}
        where column_name = {{ _prep_literal(column) }}

    ),

    _prep_fits_{{ loop.index }} as (

        select
            {{ _prep_partition_columns(partitions) }}
            true as is_fitted,
            max(output_column) filter (where is_infrequent) as other_column

        from {{ params_relation }}
        where column_name = {{ _prep_literal(column) }}
        {{ _prep_group_by(partitions) }}

    ),
    {% endfor %}

    _prep_joined as (

        select
            _prep_source.*,
            {% for column in columns %}
            {#- '' when unseen without a bucket: every indicator 0; null when never fitted. #}
            case
                when _prep_fits_{{ loop.index }}.is_fitted
                    then coalesce(
                        _prep_categories_{{ loop.index }}.output_column,
                        _prep_fits_{{ loop.index }}.other_column,
                        ''
                    )
            end as _prep_output_{{ loop.index }}
            {%- if not loop.last %},{% endif %}
            {% endfor %}

        from _prep_source
        {% for column in columns %}
        left join _prep_fits_{{ loop.index }}
            on {{ _prep_partition_match('_prep_source', '_prep_fits_' ~ loop.index, partitions) }}
        left join _prep_categories_{{ loop.index }}
            on {{ _prep_partition_match('_prep_source', '_prep_categories_' ~ loop.index, partitions) }}
            and cast(_prep_source.{{ _prep_quote(column) }} as {{ dbt.type_string() }})
                is not distinct from _prep_categories_{{ loop.index }}.category
        {% endfor %}

    )

    select
        * exclude (
            _prep_row_number,
            {% for column in columns %}
            {% if not keep_original %}{{ _prep_quote(column) }},{% endif %}
            _prep_output_{{ loop.index }}
            {%- if not loop.last %},{% endif %}
            {% endfor %}
        ),
        {% for column in columns %}
        {%- set column_index = loop.index %}
        {% for output in outputs[column] %}
        cast(_prep_output_{{ column_index }} = {{ _prep_literal(output) }} as {{ dbt.type_int() }})
            as {{ _prep_quote(output) }}
        {%- if not loop.last %},{% endif %}
        {% endfor %}
        {%- if not loop.last %},{% endif %}
        {% endfor %}

    from _prep_joined
    order by _prep_row_number
{%- endif -%}
{%- endmacro %}
