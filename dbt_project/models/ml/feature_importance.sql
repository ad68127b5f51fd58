-- Global feature importance: mean absolute SHAP value (log-odds, for engineers) and mean
-- absolute points of risk (what the Why page shows) over a uniform random sample of the
-- scored customers (the explained top of the at-risk list would overstate risk drivers).
with

explanations as (

    select * from {{ ref('ml_explanations') }}

),

features as (

    select * from {{ ref('feature_dictionary') }}

),

final as (

    select
        explanations.feature,
        features.label,
        avg(abs(explanations.contribution)) as mean_abs_shap,
        avg(abs(explanations.points)) as mean_abs_points

    from explanations
    inner join features
        on explanations.feature = features.feature
    where explanations.importance_sample
    group by explanations.feature, features.label

)

select * from final
order by mean_abs_points desc
