-- For every customer and snapshot: the last activity day before it, the first activity day
-- on or after it (used only for non-contractual labels), activity to date and over the
-- 6 months before.
with

months as (

    select * from {{ ref('int_activity_months') }}

),

grid as (

    {{ customer_snapshot_grid() }}

),

previous_activity as (

    {{ asof_rows(
        'grid', 'months', 'customer_id', 'snapshot_date', 'activity_month',
        ['last_activity_date', 'first_ever_activity_date', 'active_days_to_date', 'events_to_date'],
        'before'
    ) }}

),

next_activity as (

    {{ asof_rows(
        'grid', 'months', 'customer_id', 'snapshot_date', 'activity_month',
        ['first_activity_date as next_activity_date'],
        'from'
    ) }}

),

six_months as (

    select
        grid.customer_id,
        grid.snapshot_date,
        sum(months.active_days) as active_days_6m,
        sum(months.events) as events_6m

    from grid
    inner join months
        on
            grid.customer_id = months.customer_id
            and grid.snapshot_date > months.activity_month
            and {{ dbt.dateadd('month', -6, 'grid.snapshot_date') }} <= months.activity_month
    group by 1, 2

),

final as (

    select
        grid.customer_id,
        grid.snapshot_date,
        previous_activity.last_activity_date,
        previous_activity.first_ever_activity_date,
        previous_activity.active_days_to_date,
        previous_activity.events_to_date,
        next_activity.next_activity_date,
        coalesce(six_months.active_days_6m, 0) as active_days_6m,
        coalesce(six_months.events_6m, 0) as events_6m

    from grid
    left join previous_activity
        on
            grid.customer_id = previous_activity.customer_id
            and grid.snapshot_date = previous_activity.snapshot_date
    left join next_activity
        on
            grid.customer_id = next_activity.customer_id
            and grid.snapshot_date = next_activity.snapshot_date
    left join six_months
        on
            grid.customer_id = six_months.customer_id
            and grid.snapshot_date = six_months.snapshot_date

)

select * from final
