with

source as (

    select * from {{ source('raw', 'accounts') }}

),

renamed as (

    select
        cast(account_id as string) as customer_id,
        cast(coalesce(account_name, account_id) as string) as customer_name,
        cast(signup_date as date) as signup_date,
        cast(plan as string) as signup_plan,
        cast(segment as string) as segment,
        cast(region as string) as region,
        cast(platform as string) as platform

    from source

)

select * from renamed
