with

source as (

    select * from {{ source('raw', 'subscriptions') }}

),

renamed as (

    select
        cast(subscription_id as string) as subscription_id,
        cast(account_id as string) as customer_id,
        cast(plan as string) as plan,
        cast(billing_period as string) as billing_period,
        cast(seats as integer) as seats,
        cast(mrr as double) as mrr,
        cast(started_at as date) as started_at,
        cast(ended_at as date) as ended_at,
        cast(status as string) as status

    from source

)

select * from renamed
