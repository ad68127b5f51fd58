-- Factors that are among the top three reasons of nearly every customer the team can contact
-- (capacity k): a reason everyone shares says nothing about one customer (in a closed cohort,
-- "customer for 460 days" is true of all), so the at-risk list leaves it out of each row and
-- the Why page names it once. At least `common_reason_min_customers` customers are needed.
with

explanations as (

    select * from {{ ref('customer_explanations') }}

),

predictions as (

    select * from {{ ref('ml_predictions') }}

),

contactable as (

    select customer_id
    from predictions
    where risk_rank <= {{ var('capacity_k') }}

),

ranked as (

    select
        explanations.customer_id,
        explanations.feature,
        explanations.label,
        row_number() over (
            partition by explanations.customer_id
            order by explanations.points desc, explanations.feature asc
        ) as reason_rank

    from explanations
    inner join contactable
        on explanations.customer_id = contactable.customer_id
    where explanations.points > 0

),

shares as (

    select
        feature,
        label,
        count(*) as customers,
        count(*) / (select count(*) from contactable) as share_of_list

    from ranked
    where reason_rank <= 3
    group by feature, label

),

final as (

    select * from shares
    where
        share_of_list >= {{ var('common_reason_share') }}
        and customers >= {{ var('common_reason_min_customers') }}

)

select * from final
