with

source as (

    select * from {{ source('raw', 'payments') }}

),

renamed as (

    select
        cast(payment_id as varchar) as payment_id,
        cast(invoice_id as varchar) as invoice_id,
        cast(account_id as varchar) as customer_id,
        cast(attempted_at as timestamp) as attempted_at,
        cast(amount as double) as amount,
        cast(status as varchar) = 'failed' as is_failed

    from source

)

select * from renamed
