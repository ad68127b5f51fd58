-- depends_on: {{ ref('flat_customer_snapshots' if var('dataset_kind') == 'flat' else 'customer_snapshots') }}
-- Plain names, kinds, units and drift rules of the model features, generated from the column
-- `meta` of customer_snapshots so that they are defined once, in YAML, and used everywhere
-- (macros/mart_features.sql).
{%- if var('dataset_kind', 'events') == 'flat' -%}
    {#- A flat customer file: the features its mapping declares (macros/flat_features.sql). -#}
    {%- set features = flat_features() -%}
{%- else -%}
    {%- set features = mart_features() -%}
{%- endif %}

with

features as (

    {% for feature in features %}
        select
            {{ loop.index }} as position,
            {{ dbt.string_literal(feature.name) }} as feature,
            {{ dbt.string_literal(dbt.escape_single_quotes(feature.label)) }} as label,
            {{ dbt.string_literal(feature.kind) }} as kind,
            {{ dbt.string_literal(feature.unit) }} as unit,
            {{ dbt.string_literal(dbt.escape_single_quotes(feature.reason)) }} as reason_template,
            {{ dbt.string_literal(dbt.escape_single_quotes(feature.reason_if_missing)) }} as reason_if_missing,
            {{ dbt.string_literal(feature.get('drift') or '') }} as drift,
            {{ dbt.string_literal(feature.get('family') or feature.name) }} as family,
            {{ dbt.string_literal(dbt.escape_single_quotes(feature.description)) }} as description
        {% if not loop.last %}union all{% endif %}
    {% else %}
        select
            0 as position,
            '' as feature,
            '' as label,
            '' as kind,
            '' as unit,
            '' as reason_template,
            '' as reason_if_missing,
            '' as drift,
            '' as family,
            '' as description
        where false
    {% endfor %}

)

select * from features
