-- The newest snapshot's customers ranked by churn risk, with their value at risk, the
-- expected loss (risk x value) and the three factors that raise each customer's risk most
-- (the largest bars of their Why waterfall, in points of risk; one per family of factors
-- that say nearly the same thing, and one per sentence), each worded as a fact ("No activity for 41 days"); a
-- factor nearly everyone on the list shares is named once instead (common_reasons).
with

predictions as (

    select * from {{ ref('ml_predictions') }}

),

snapshots as (

    select * from {{ ref('ml_features') }}

),

explanations as (

    select * from {{ ref('customer_explanations') }}

),

common as (

    select * from {{ ref('common_reasons') }}

),

features as (

    select * from {{ ref('feature_dictionary') }}

),

raising as (

    select
        explanations.customer_id,
        explanations.feature,
        explanations.reason,
        explanations.points,
        row_number() over (
            partition by explanations.customer_id, features.family
            order by explanations.points desc, explanations.feature asc
        ) as family_rank,
        -- Two factors worded alike ("Active on one day only") are one reason.
        row_number() over (
            partition by explanations.customer_id, explanations.reason
            order by explanations.points desc, explanations.feature asc
        ) as sentence_rank

    from explanations
    inner join features
        on explanations.feature = features.feature
    where
        explanations.points > 0
        and explanations.feature not in (select common.feature from common)

),

ranked_reasons as (

    select
        customer_id,
        feature,
        reason,
        row_number() over (
            partition by customer_id
            order by points desc, feature asc
        ) as reason_rank

    from raising
    where family_rank = 1 and sentence_rank = 1

),

top_reasons as (

    select
        customer_id,
        max(reason) filter (where reason_rank = 1) as reason_1,
        max(reason) filter (where reason_rank = 2) as reason_2,
        max(reason) filter (where reason_rank = 3) as reason_3,
        max(feature) filter (where reason_rank = 1) as reason_1_feature,
        max(feature) filter (where reason_rank = 2) as reason_2_feature,
        max(feature) filter (where reason_rank = 3) as reason_3_feature

    from ranked_reasons
    where reason_rank <= 3
    group by customer_id

),

final as (

    select
        predictions.risk_rank,
        predictions.customer_id,
        snapshots.customer_name,
        snapshots.segment,
        snapshots.region,
        snapshots.plan,
        snapshots.customer_value,
        predictions.churn_probability,
        predictions.churn_probability * snapshots.customer_value as expected_loss,
        top_reasons.reason_1,
        top_reasons.reason_2,
        top_reasons.reason_3,
        top_reasons.reason_1_feature,
        top_reasons.reason_2_feature,
        top_reasons.reason_3_feature,
        predictions.snapshot_date,
        predictions.model_version

    from predictions
    inner join snapshots
        on
            predictions.customer_id = snapshots.customer_id
            and predictions.snapshot_date = snapshots.snapshot_date
    left join top_reasons
        on predictions.customer_id = top_reasons.customer_id

)

select * from final
order by risk_rank
