-- Support tickets over trailing 30/90-day windows before each snapshot.
with

windowed as (

    {{ trailing_window_rows(ref('stg_raw__tickets'), 'created_at', 90) }}

),

final as (

    select
        customer_id,
        snapshot_date,
        count(*) filter (where days_before <= 30) as tickets_30d,
        count(*) as tickets_90d,
        count(*) filter (where priority in ('high', 'urgent')) as urgent_tickets_90d

    from windowed
    group by customer_id, snapshot_date

)

select * from final
