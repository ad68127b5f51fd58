-- The feature mart for a flat customer file, in the shape the ML models read (ml_features
-- reads it instead of customer_snapshots when `dataset_kind` is flat). Every export
-- gives a labeled snapshot dated `horizon_days` before it (its features, its churn flag as
-- the label); the customers still there in the newest export form the snapshot scored for
-- the at-risk list. Feature columns come from the mapping (macros/flat_features.sql).

{%- set attributes -%}
    customer_name,
    segment,
    region,
    plan,
    mrr as customer_value,
    days_since_last_activity
    {%- for feature in flat_features() %},
        {{ adapter.quote(feature.name) }}
    {%- endfor %}
{%- endset %}

with

history as (

    select * from {{ ref('customer_exports_history') }}

),

as_of as (

    select as_of_date from {{ ref('int_flat_data_as_of') }}

),

exports as (

    select history.*
    from history
    cross join as_of
    where
        history.dbt_valid_to is null
        and history.exported_on < as_of.as_of_date

),

newest as (

    select max(exported_on) as exported_on from exports

),

labeled as (

    select
        customer_id,
        cast({{ dbt.dateadd('day', -var('horizon_days'), 'exported_on') }} as date) as snapshot_date,
        {{ attributes }},
        true as is_matured,
        churned as churned_within_horizon

    from exports

),

scored as (

    select
        exports.customer_id,
        exports.exported_on as snapshot_date,
        {{ attributes }},
        false as is_matured,
        cast(null as boolean) as churned_within_horizon

    from exports
    inner join newest
        on exports.exported_on = newest.exported_on
    where not exports.churned

),

final as (

    select * from labeled
    union all
    select * from scored

)

select * from final
