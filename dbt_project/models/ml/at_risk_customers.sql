-- The newest snapshot's customers ranked by churn risk, with their value at risk, the
-- expected loss (risk x value) and the three factors that raise each customer's risk most
-- (the largest bars of their Why waterfall, in points of risk; one per family of factors
-- that say nearly the same thing, and one per sentence: macros/reason_candidates.sql), each
-- worded as a fact ("No activity for 41 days"); a family of factors nearly everyone on the
-- list shares is named once instead (common_reasons).
with

predictions as (

    select * from {{ ref('ml_predictions') }}

),

snapshots as (

    select * from {{ ref('ml_features') }}

),

candidates as (

    {{ reason_candidates(ref('customer_explanations'), ref('feature_dictionary')) }}

),

common as (

    select * from {{ ref('common_reasons') }}

),

-- A shared family comes after every other factor: it is named only where a customer has
-- nothing else that raises their risk (their first reason, never a second or third).
ranked_reasons as (

    select
        candidates.customer_id,
        candidates.feature,
        candidates.reason,
        common.family is not null as is_shared,
        row_number() over (
            partition by candidates.customer_id
            order by
                case when common.family is null then 0 else 1 end,
                candidates.points desc,
                candidates.feature asc
        ) as reason_rank

    from candidates
    left join common
        on candidates.family = common.family

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
    where reason_rank <= 3 and (not is_shared or reason_rank = 1)
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
