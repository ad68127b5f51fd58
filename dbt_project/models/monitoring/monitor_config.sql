-- The monitors' settings (dbt vars) and the windows they compare, as one row every monitor reads.
-- Recent window: the last `monitor_recent_months` calendar months of data. Features of the
-- newest snapshot are compared with the `monitor_reference_months` snapshots whose features
-- predate the recent window; outcomes of the recent matured months with the snapshots whose
-- labels had matured before it. History months: how much data lies before the first reference
-- snapshot (features accumulated "to date" count toward the verdict only with a year of it).
with

as_of as (

    select as_of_date from {{ ref('int_data_as_of') }}

),

snapshot_dates as (

    select * from {{ ref('int_snapshot_dates') }}

),

settings as (

    select
        as_of.as_of_date,
        {{ var('monitor_reference_months', 6) }} as reference_months,
        {{ var('monitor_recent_months', 3) }} as recent_months,
        {{ var('volume_history_weeks', 8) }} as volume_history_weeks,
        {{ var('freshness_tolerance_days', 1) }} as freshness_tolerance_days,
        cast(
            {{ dbt.dateadd(
                'month',
                '-(' ~ var('monitor_recent_months', 3) ~ ' - 1)',
                "date_trunc('month', as_of.as_of_date - interval 1 day)"
            ) }}
            as date
        ) as recent_start

    from as_of

),

windows as (

    select
        settings.*,
        (select min(snapshot_dates.snapshot_date) from snapshot_dates) as first_snapshot,
        (select max(snapshot_dates.snapshot_date) from snapshot_dates) as current_snapshot,
        cast({{ dbt.dateadd('month', '-(settings.reference_months - 1)', 'settings.recent_start') }} as date)
            as feature_reference_from,
        settings.recent_start as feature_reference_to,
        cast({{ dbt.dateadd('month', '-settings.reference_months', 'settings.recent_start') }} as date)
            as outcome_reference_from,
        cast(settings.recent_start - interval 1 month as date) as outcome_reference_to

    from settings

),

final as (

    select
        windows.*,
        -- The first snapshot follows the first month with activity: count that month too.
        {{ dbt.datediff('windows.first_snapshot', 'windows.feature_reference_from', 'month') }} + 1
            as history_months

    from windows

)

select * from final
