-- Purchase histories for the Buy-Till-You-Die models (non-contractual churn only; empty
-- otherwise): per customer and month-start snapshot, from activity strictly before it, the
-- purchase days after the first, days from the first to the last purchase day and from the
-- first purchase day to the snapshot, and the average order value so far.
with

activity as (

    select * from {{ ref('int_last_activity') }}

),

payments as (

    select * from {{ ref('int_payment_history') }}

),

final as (

    select
        activity.customer_id,
        activity.snapshot_date,
        activity.active_days_to_date - 1 as repeat_days,
        {{ dbt.datediff('activity.first_ever_activity_date', 'activity.last_activity_date', 'day') }}
            as recency_days,
        {{ dbt.datediff('activity.first_ever_activity_date', 'activity.snapshot_date', 'day') }}
            as age_days,
        payments.paid_amount_to_date / nullif(payments.payments_to_date, 0) as average_value

    from activity
    left join payments
        on
            activity.customer_id = payments.customer_id
            and activity.snapshot_date = payments.snapshot_date
    where
        activity.first_ever_activity_date is not null
        and {{ snapshots_to_build('activity.snapshot_date') }}
        and {{ 'true' if var('churn_definition') == 'non_contractual' else 'false' }}

)

select * from final
