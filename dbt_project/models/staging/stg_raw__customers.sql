with

source as (

    select * from {{ source('raw', 'accounts') }}

),

renamed as (

    select
        cast(account_id as varchar) as customer_id,
        cast(coalesce(account_name, account_id) as varchar) as customer_name,
        cast(signup_date as date) as signup_date,
        cast(plan as varchar) as signup_plan,
        cast(segment as varchar) as segment,
        cast(region as varchar) as region,
        cast(platform as varchar) as platform

    from source

)

select * from renamed
