-- Activity per customer and calendar month: the cheap base for long windows and recency.
with

activity as (

    select * from {{ ref('stg_raw__activity') }}

),

monthly as (

    select
        customer_id,
        cast(date_trunc('month', activity_date) as date) as activity_month,
        min(activity_date) as first_activity_date,
        max(activity_date) as last_activity_date,
        count(*) as active_days,
        sum(events) as events

    from activity
    group by 1, 2

),

final as (

    select
        *,
        min(first_activity_date) over customer_history as first_ever_activity_date,
        sum(active_days) over customer_history as active_days_to_date,
        sum(events) over customer_history as events_to_date

    from monthly
    window customer_history as (
        partition by customer_id
        order by activity_month
        rows between unbounded preceding and current row
    )

)

select * from final
