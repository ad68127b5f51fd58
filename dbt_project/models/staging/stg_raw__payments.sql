with

source as (

    select * from {{ source('raw', 'payments') }}

),

renamed as (

    select
        cast(payment_id as string) as payment_id,
        cast(invoice_id as string) as invoice_id,
        cast(account_id as string) as customer_id,
        cast(attempted_at as timestamp) as attempted_at,
        cast(amount as double) as amount,
        cast(status as string) = 'failed' as is_failed

    from source

)

select * from renamed
