-- SHAP contributions with plain feature names, values formatted by their unit, and each
-- value worded as a fact from the feature mart's `reason` meta (macros/word_reason.sql).
with

explanations as (

    select * from {{ ref('ml_explanations') }}

),

features as (

    select * from {{ ref('feature_dictionary') }}

),

formatted as (

    select
        explanations.customer_id,
        explanations.feature,
        features.label,
        features.unit,
        features.reason_template,
        features.reason_if_missing,
        explanations.feature_value,
        {{ format_feature_value('explanations.feature_value', 'features.unit') }} as display_value,
        case
            when features.reason_template like '%{change}%'
                then {{ format_feature_change('explanations.feature_value', 'features.unit') }}
        end as change_value,
        explanations.contribution,
        explanations.points,
        explanations.base_value

    from explanations
    inner join features
        on explanations.feature = features.feature

),

worded as (

    select
        customer_id,
        feature,
        label,
        unit,
        feature_value,
        display_value,
        {{ word_reason(
            'reason_template',
            'reason_if_missing',
            'label',
            'feature_value',
            'display_value',
            'change_value'
        ) }} as reason,
        contribution,
        points,
        base_value

    from formatted

),

final as (

    select * from worded

)

select * from final
