-- The last activity day before each snapshot, from the month-level latest activity.
with

monthly_latest as (

    select
        customer_id,
        cast(date_trunc('month', activity_date) + interval 1 month as date) as next_snapshot_date,
        max(activity_date) as last_activity_date

    from {{ ref('stg_raw__activity') }}
    group by 1, 2

),

spine as (

    select
        customer_id,
        snapshot_date

    from {{ ref('int_customer_snapshots') }}

),

final as (

    select
        spine.customer_id,
        spine.snapshot_date,
        monthly_latest.last_activity_date

    from spine
    asof left join monthly_latest
        on
            spine.customer_id = monthly_latest.customer_id
            and spine.snapshot_date >= monthly_latest.next_snapshot_date

)

select * from final
