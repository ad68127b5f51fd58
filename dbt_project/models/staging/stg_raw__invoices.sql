with

source as (

    select * from {{ source('raw', 'invoices') }}

),

renamed as (

    select
        cast(invoice_id as string) as invoice_id,
        cast(account_id as string) as customer_id,
        cast(invoice_date as date) as invoice_date,
        cast(due_date as date) as due_date,
        cast(amount as double) as amount

    from source

)

select * from renamed
