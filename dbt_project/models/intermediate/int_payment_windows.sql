-- Payment failures and amounts paid over trailing 30/90-day windows before each snapshot.
with

windowed as (

    {{ trailing_window_rows(ref('stg_raw__payments'), 'attempted_at', 90) }}

),

final as (

    select
        customer_id,
        snapshot_date,
        count(*) filter (where is_failed and days_before <= 30) as failed_payments_30d,
        count(*) filter (where is_failed) as failed_payments_90d,
        coalesce(sum(amount) filter (where not is_failed and days_before <= 30), 0)
            as paid_amount_30d,
        coalesce(sum(amount) filter (where not is_failed), 0) as paid_amount_90d

    from windowed
    group by customer_id, snapshot_date

)

select * from final
