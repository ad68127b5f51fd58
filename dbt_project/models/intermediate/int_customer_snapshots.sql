-- One row per customer active at a month-start snapshot, with what is in force then and the
-- forward-looking churn label (null until the horizon has passed). The churn definition
-- (dbt var) decides what "active" and "churned" mean.
{% if var('churn_definition') not in ('contractual', 'non_contractual') %}
    {{ exceptions.raise_compiler_error(
        "churn_definition must be 'contractual' or 'non_contractual', not '"
        ~ var('churn_definition') ~ "'."
    ) }}
{% endif %}

{% if var('churn_definition') == 'non_contractual' %}

with

activity as (

    select * from {{ ref('int_last_activity') }}

),

snapshot_dates as (

    select * from {{ ref('int_snapshot_dates') }}
    where {{ snapshots_to_build('snapshot_date') }}

),

customers as (

    select * from {{ ref('stg_raw__customers') }}

),

final as (

    select
        activity.customer_id,
        activity.snapshot_date,
        customers.signup_plan as plan,
        cast(null as string) as billing_period,
        cast(null as integer) as seats,
        cast(null as double) as mrr,
        cast(null as double) as mrr_change_90d,
        {{ dbt.datediff('customers.signup_date', 'activity.snapshot_date', 'day') }} as tenure_days,
        cast(null as bigint) as days_to_renewal,
        snapshot_dates.is_matured,
        case
            when snapshot_dates.is_matured
                then coalesce(
                    activity.next_activity_date
                    >= activity.snapshot_date + {{ var('horizon_days') }},
                    true
                )
        end as churned_within_horizon

    from activity
    inner join snapshot_dates
        on activity.snapshot_date = snapshot_dates.snapshot_date
    inner join customers
        on activity.customer_id = customers.customer_id
    where
        activity.last_activity_date
        >= activity.snapshot_date - {{ var('inactivity_days') }}

)

select * from final

{% else %}
    with

    snapshot_dates as (

        select * from {{ ref('int_snapshot_dates') }}
        where {{ snapshots_to_build('snapshot_date') }}

    ),

    subscriptions as (

        select * from {{ ref('stg_raw__subscriptions') }}

    ),

    customer_lifetimes as (

        select
            customer_id,
            min(started_at) as first_started_at,
            max(ended_at) filter (where status = 'cancelled') as cancelled_on,
            bool_or(ended_at is null) as is_open

        from subscriptions
        group by customer_id

    ),

    churn_dates as (

        select
            customer_id,
            first_started_at,
            case when not is_open then cancelled_on end as churned_on

        from customer_lifetimes

    ),

    -- What was in force on the day before the snapshot: the newest period covering that day
    -- (point in time: a period starting on the snapshot day is not known yet).
    in_force_before as (

        select
            snapshot_dates.snapshot_date,
            snapshot_dates.is_matured,
            subscriptions.customer_id,
            subscriptions.plan,
            subscriptions.billing_period,
            subscriptions.seats,
            subscriptions.mrr,
            subscriptions.started_at as period_started_at,
            row_number() over (
                partition by subscriptions.customer_id, snapshot_dates.snapshot_date
                order by subscriptions.started_at desc, subscriptions.subscription_id desc
            ) as newest_first

        from snapshot_dates
        inner join subscriptions
            on
                snapshot_dates.snapshot_date > subscriptions.started_at
                and snapshot_dates.snapshot_date - 1
                <= coalesce(subscriptions.ended_at, date '9999-12-31')

    ),

    -- Still a customer on the snapshot day: some period covers it. A plan change on the 1st
    -- (one period ends the day before, the next starts that day) keeps the customer; a
    -- subscription whose last day was the day before does not.
    covering as (

        select distinct
            snapshot_dates.snapshot_date,
            subscriptions.customer_id

        from snapshot_dates
        inner join subscriptions
            on
                snapshot_dates.snapshot_date >= subscriptions.started_at
                and snapshot_dates.snapshot_date
                <= coalesce(subscriptions.ended_at, date '9999-12-31')

    ),

    in_force as (

        select in_force_before.*

        from in_force_before
        inner join covering
            on
                in_force_before.customer_id = covering.customer_id
                and in_force_before.snapshot_date = covering.snapshot_date
        where in_force_before.newest_first = 1

    ),

    mrr_90_days_before as (

        select
            snapshot_dates.snapshot_date,
            subscriptions.customer_id,
            subscriptions.mrr

        from snapshot_dates
        inner join subscriptions
            on
                snapshot_dates.snapshot_date - 90 > subscriptions.started_at
                and snapshot_dates.snapshot_date - 90
                <= coalesce(subscriptions.ended_at, date '9999-12-31')

    ),

    final as (

        select
            in_force.customer_id,
            in_force.snapshot_date,
            in_force.plan,
            in_force.billing_period,
            in_force.seats,
            in_force.mrr,
            in_force.mrr - coalesce(mrr_90_days_before.mrr, 0) as mrr_change_90d,
            {{ dbt.datediff('churn_dates.first_started_at', 'in_force.snapshot_date', 'day') }}
                as tenure_days,
            case in_force.billing_period
                when 'annual' then {{ dbt.datediff(
                'in_force.snapshot_date',
                next_anniversary('in_force.period_started_at', 'in_force.snapshot_date', 'year'),
                'day'
            ) }}
                else {{ dbt.datediff(
                'in_force.snapshot_date',
                next_anniversary('in_force.period_started_at', 'in_force.snapshot_date', 'month'),
                'day'
            ) }}
            end as days_to_renewal,
            in_force.is_matured,
            case
                when in_force.is_matured
                    then coalesce(
                        churn_dates.churned_on < in_force.snapshot_date + {{ var('horizon_days') }},
                        false
                    )
            end as churned_within_horizon

        from in_force
        inner join churn_dates
            on in_force.customer_id = churn_dates.customer_id
        left join mrr_90_days_before
            on
                in_force.customer_id = mrr_90_days_before.customer_id
                and in_force.snapshot_date = mrr_90_days_before.snapshot_date

    )

    select * from final

{% endif %}
