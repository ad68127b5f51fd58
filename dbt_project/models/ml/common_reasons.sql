-- Families of factors that raise the risk of nearly every customer the team can contact
-- (capacity k): a reason everyone shares says nothing about one customer (in a closed cohort,
-- "customer for 460 days" is true of all; in a shop's list of lapsed buyers, "no purchase in
-- 90 days" and "none expected"), so the at-risk list leaves them out of each row and the Why
-- page names them once. At least `common_reason_min_customers` customers.
--
-- Counted over every factor that raises a customer's risk, not only the three the list shows:
-- leaving the shared families out brings the next factors up into the three, and a family
-- counted only where it was shown could then be on nearly every row again. A family that
-- raises the risk of fewer than `common_reason_share` of the list can never be on that many
-- rows, so the rows' reasons always tell customers apart.
with

candidates as (

    {{ reason_candidates(ref('customer_explanations'), ref('feature_dictionary')) }}

),

predictions as (

    select * from {{ ref('ml_predictions') }}

),

contactable as (

    select customer_id
    from predictions
    where risk_rank <= {{ var('capacity_k') }}

),

listed as (

    select candidates.*
    from candidates
    inner join contactable
        on candidates.customer_id = contactable.customer_id

),

families as (

    select
        family,
        count(*) as customers,
        count(*) / (select count(*) from contactable) as share_of_list,
        avg(points) as points

    from listed
    group by family

),

-- A family is named by its factor that most of these customers show.
leaders as (

    select
        family,
        feature,
        label,
        row_number() over (
            partition by family
            order by count(*) desc, feature asc
        ) as leader_rank

    from listed
    group by family, feature, label

),

final as (

    select
        leaders.feature,
        leaders.label,
        families.customers,
        families.share_of_list,
        families.family,
        families.points

    from families
    inner join leaders
        on
            families.family = leaders.family
            and leaders.leader_rank = 1
    where
        families.share_of_list >= {{ var('common_reason_share') }}
        and families.customers >= {{ var('common_reason_min_customers') }}

)

select * from final
