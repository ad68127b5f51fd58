-- Month-start snapshot dates, from the first full month of activity to the as-of month.
with

as_of as (

    select as_of_date from {{ ref('int_data_as_of') }}

),

bounds as (

    select
        cast(date_trunc('month', min(activity_date)) + interval 1 month as date) as first_snapshot,
        cast(date_trunc('month', (select as_of_date from as_of)) as date) as last_snapshot

    from {{ ref('stg_raw__activity') }}

),

final as (

    select
        cast(snapshot_ts as date) as snapshot_date,
        {{ var('horizon_days') }} as horizon_days,
        cast(snapshot_ts as date) + {{ var('horizon_days') }}
        <= (select as_of_date from as_of) as is_matured

    from bounds
    cross join
        unnest(generate_series(
            cast(first_snapshot as timestamp), cast(last_snapshot as timestamp), interval 1 month
        )) as series (snapshot_ts)

)

select * from final
