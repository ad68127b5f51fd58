-- A flat customer file (mapping `kind: flat`): one row per customer and export, with the
-- churn flag and one column per feature the mapping declares (macros/flat_features.sql).
with

source as (

    select * from {{ source('raw', 'customer_exports') }}

),

renamed as (

    select
        cast(account_id as varchar) as customer_id,
        cast(coalesce(account_name, account_id) as varchar) as customer_name,
        cast(exported_on as date) as exported_on,
        cast(churned as boolean) as churned,
        cast(segment as varchar) as segment,
        cast(plan as varchar) as plan,
        cast(region as varchar) as region,
        cast(mrr as double) as mrr,
        {%- for feature in flat_features() %}
            cast({{ adapter.quote(feature.name) }} as {{ flat_feature_type(feature) }})
            as {{ adapter.quote(feature.name) }},
        {%- endfor %}
        cast(days_since_last_activity as double) as days_since_last_activity

    from source

)

select * from renamed
