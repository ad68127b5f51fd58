{#
    Every (customer_id, snapshot_date) pair at which a customer existed: one row per customer
    and month-start snapshot after their signup. The grid point-in-time features are computed on.
#}
{% macro customer_snapshot_grid() %}
    select
        customers.customer_id,
        snapshot_dates.snapshot_date

    from {{ ref('stg_raw__customers') }} as customers
    inner join {{ ref('int_snapshot_dates') }} as snapshot_dates
        on customers.signup_date < snapshot_dates.snapshot_date
    where {{ snapshots_to_build('snapshot_dates.snapshot_date') }}
{% endmacro %}
