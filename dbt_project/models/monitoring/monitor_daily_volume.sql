-- Rows per source table and day, read through the staging models (before any join or filter),
-- for the freshness and volume monitors. Days without rows are absent here.
with

customers as (

    select signup_date as event_date from {{ ref('stg_raw__customers') }}

),

subscriptions as (

    select started_at as event_date from {{ ref('stg_raw__subscriptions') }}

),

activity as (

    select activity_date as event_date from {{ ref('stg_raw__activity') }}

),

invoices as (

    select invoice_date as event_date from {{ ref('stg_raw__invoices') }}

),

payments as (

    select cast(attempted_at as date) as event_date from {{ ref('stg_raw__payments') }}

),

tickets as (

    select cast(created_at as date) as event_date from {{ ref('stg_raw__tickets') }}

),

events as (

    select
        'accounts' as source_table,
        event_date
    from customers
    union all
    select
        'subscriptions' as source_table,
        event_date
    from subscriptions
    union all
    select
        'usage_daily' as source_table,
        event_date
    from activity
    union all
    select
        'invoices' as source_table,
        event_date
    from invoices
    union all
    select
        'payments' as source_table,
        event_date
    from payments
    union all
    select
        'tickets' as source_table,
        event_date
    from tickets

),

final as (

    select
        source_table,
        event_date,
        count(*) as row_count

    from events
    where event_date is not null
    group by source_table, event_date

)

select * from final
