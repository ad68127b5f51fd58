-- Successful payments (orders, for a retailer) per customer from their first one up to each
-- month-start snapshot: count, total and largest. Refunds and failed attempts are left out,
-- so the total is what the customer spent, not what they kept.
with

payments as (

    select * from {{ ref('stg_raw__payments') }}

),

grid as (

    {{ customer_snapshot_grid() }}

),

monthly as (

    select
        customer_id,
        cast(date_trunc('month', attempted_at) as date) as payment_month,
        count(*) as payments,
        sum(amount) as paid_amount,
        max(amount) as largest_payment

    from payments
    where not is_failed and amount > 0
    group by 1, 2

),

cumulative as (

    select
        customer_id,
        payment_month,
        sum(payments) over customer_history as payments_to_date,
        sum(paid_amount) over customer_history as paid_amount_to_date,
        max(largest_payment) over customer_history as largest_payment_to_date

    from monthly
    window customer_history as (
        partition by customer_id
        order by payment_month
        rows between unbounded preceding and current row
    )

),

-- Snapshots are month starts, so every month before the snapshot's is strictly before it.
latest as (

    {{ asof_rows(
        'grid', 'cumulative', 'customer_id', 'snapshot_date', 'payment_month',
        ['payments_to_date', 'paid_amount_to_date', 'largest_payment_to_date'],
        'before'
    ) }}

),

final as (

    select
        customer_id,
        snapshot_date,
        coalesce(payments_to_date, 0) as payments_to_date,
        coalesce(paid_amount_to_date, 0) as paid_amount_to_date,
        largest_payment_to_date

    from latest

)

select * from final
