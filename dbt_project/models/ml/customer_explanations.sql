-- SHAP contributions with plain feature names and values formatted by their unit.
with

explanations as (

    select * from {{ ref('ml_explanations') }}

),

features as (

    select * from {{ ref('feature_dictionary') }}

),

final as (

    select
        explanations.customer_id,
        explanations.feature,
        features.label,
        features.unit,
        explanations.feature_value,
        {{ format_feature_value('explanations.feature_value', 'features.unit') }} as display_value,
        explanations.contribution,
        explanations.base_value

    from explanations
    inner join features
        on explanations.feature = features.feature

)

select * from final
