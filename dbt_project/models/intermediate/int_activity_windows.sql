-- Product activity over trailing 7/30/60/90-day windows before each snapshot.
with

windowed as (

    {{ trailing_window_rows(ref('stg_raw__activity'), 'activity_date', 90) }}

),

final as (

    select
        customer_id,
        snapshot_date,
        count(*) filter (where days_before <= 7) as active_days_7d,
        count(*) filter (where days_before <= 30) as active_days_30d,
        count(*) as active_days_90d,
        coalesce(sum(events) filter (where days_before <= 7), 0) as events_7d,
        coalesce(sum(events) filter (where days_before <= 30), 0) as events_30d,
        coalesce(sum(events) filter (where days_before > 30 and days_before <= 60), 0)
            as events_prev_30d,
        coalesce(sum(events), 0) as events_90d,
        cast(coalesce(sum(active_users) filter (where days_before <= 30), 0) as double) / 30
            as avg_daily_active_users_30d

    from windowed
    group by customer_id, snapshot_date

)

select * from final
