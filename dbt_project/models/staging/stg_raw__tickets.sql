with

source as (

    select * from {{ source('raw', 'tickets') }}

),

renamed as (

    select
        cast(ticket_id as string) as ticket_id,
        cast(account_id as string) as customer_id,
        cast(created_at as timestamp) as created_at,
        cast(priority as string) as priority,
        cast(category as string) as category

    from source

)

select * from renamed
