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
        -- A ledger without statuses (mapping docs): a period that ended was the customer's
        -- last unless a later one follows, which is what `cancelled` then means here.
        coalesce(
            cast(status as string),
            case when ended_at is null then 'active' else 'cancelled' end
        ) as status

    from source

)

select * from renamed
