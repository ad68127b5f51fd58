-- Global feature importance: mean absolute SHAP value over the scored customers.
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
        avg(abs(explanations.contribution)) as mean_abs_shap

    from explanations
    inner join features
        on explanations.feature = features.feature
    group by explanations.feature, features.label

)

select * from final
order by mean_abs_shap desc
