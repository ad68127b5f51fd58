-- The first snapshot an incremental build recomputes: the month of the earliest raw data that
-- changed since the build in service, or of the older of its as-of date and this build's,
-- whichever is earlier, less the look-back (horizon_days + inactivity_days: labels mature and
-- windows look back). No plan from the pipeline (a full refresh) means every snapshot.
with

plan as (

    select
        count(*) as plan_rows,
        min(changed_from) as changed_from,
        min(previous_as_of) as previous_as_of

    from {{ source('context', 'incremental') }}

),

as_of as (

    select as_of_date from {{ ref('int_data_as_of') }}

),

anchored as (

    select
        plan.plan_rows,
        least(
            coalesce(plan.changed_from, as_of.as_of_date),
            coalesce(plan.previous_as_of, as_of.as_of_date),
            as_of.as_of_date
        ) as anchor_date

    from plan
    cross join as_of

),

final as (

    select
        case
            when plan_rows = 0 then cast('1900-01-01' as date)
            else cast(date_trunc(
                'month',
                {{ dbt.dateadd('day', -(var('horizon_days') + var('inactivity_days')), 'anchor_date') }}
            ) as date)
        end as recompute_from

    from anchored

)

select * from final
