-- The data as-of date: the `as_of` var when set, else the day after the newest event.
with

activity as (

    select max(activity_date) as latest from {{ ref('stg_raw__activity') }}

),

payments as (

    select max(cast(attempted_at as date)) as latest from {{ ref('stg_raw__payments') }}

),

tickets as (

    select max(cast(created_at as date)) as latest from {{ ref('stg_raw__tickets') }}

),

subscriptions as (

    select max(started_at) as latest from {{ ref('stg_raw__subscriptions') }}

),

final as (

    select
        {{ as_of_date(
            'greatest(activity.latest, payments.latest, tickets.latest, subscriptions.latest)'
        ) }} as as_of_date

    from activity
    cross join payments
    cross join tickets
    cross join subscriptions

)

select * from final
