-- Month-start snapshot dates, from the first full month of activity (of subscriptions, for a
-- subscription business without activity data) to the as-of month.
with

as_of as (

    select as_of_date from {{ ref('int_data_as_of') }}

),

activity as (

    select min(activity_date) as first_date from {{ ref('stg_raw__activity') }}

),

subscriptions as (

    select min(started_at) as first_date from {{ ref('stg_raw__subscriptions') }}

),

first_activity as (

    select coalesce(activity.first_date, subscriptions.first_date) as first_activity_date
    from activity
    cross join subscriptions

),

bounds as (

    select
        as_of.as_of_date,
        cast(
            date_trunc('month', first_activity.first_activity_date) + interval 1 month as date
        ) as first_snapshot,
        cast(date_trunc('month', as_of.as_of_date) as date) as last_snapshot

    from first_activity
    cross join as_of

),

final as (

    select
        cast(series.snapshot_ts as date) as snapshot_date,
        {{ var('horizon_days') }} as horizon_days,
        cast(series.snapshot_ts as date) + {{ var('horizon_days') }}
        <= bounds.as_of_date as is_matured

    from bounds
    {{ cross_join_month_starts('bounds.first_snapshot', 'bounds.last_snapshot', 'series', 'snapshot_ts') }}

)

select * from final
