-- Freshness per source: the newest day with rows against the data as-of date. The lag a
-- source may have is learned: the longest run of empty days it had before the recent window,
-- and at least the `freshness_tolerance_days` var, so sparse sources do not cry wolf.
with

daily as (

    select * from {{ ref('monitor_daily_volume') }}

),

config as (

    select * from {{ ref('monitor_config') }}

),

present as (

    select
        daily.source_table,
        daily.event_date,
        daily.row_count

    from daily
    cross join config
    where daily.event_date < config.as_of_date

),

gaps as (

    select
        source_table,
        event_date,
        row_count,
        {{ dbt.datediff(
            'lag(event_date) over (partition by source_table order by event_date)',
            'event_date',
            'day'
        ) }} - 1 as empty_days_before

    from present

),

per_source as (

    select
        gaps.source_table,
        min(gaps.event_date) as oldest_date,
        max(gaps.event_date) as newest_date,
        sum(gaps.row_count) as row_count,
        coalesce(max(gaps.empty_days_before) filter (
            where gaps.event_date < config.recent_start
        ), 0) as longest_gap_days

    from gaps
    cross join config
    group by gaps.source_table

),

final as (

    select
        per_source.source_table,
        per_source.oldest_date,
        per_source.newest_date,
        per_source.row_count,
        config.as_of_date,
        {{ dbt.datediff('per_source.newest_date', 'config.as_of_date', 'day') }} - 1 as lag_days,
        per_source.longest_gap_days,
        greatest(per_source.longest_gap_days, config.freshness_tolerance_days) as allowed_lag_days

    from per_source
    cross join config

)

select * from final
