with

source as (

    select * from {{ source('raw', 'tickets') }}

),

renamed as (

    select
        cast(ticket_id as varchar) as ticket_id,
        cast(account_id as varchar) as customer_id,
        cast(created_at as timestamp) as created_at,
        cast(priority as varchar) as priority,
        cast(category as varchar) as category

    from source

)

select * from renamed
