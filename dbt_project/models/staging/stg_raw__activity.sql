with

source as (

    select * from {{ source('raw', 'usage_daily') }}

),

renamed as (

    select
        cast(account_id as string) as customer_id,
        cast(usage_date as date) as activity_date,
        cast(active_users as integer) as active_users,
        cast(events as bigint) as events

    from source

)

select * from renamed
