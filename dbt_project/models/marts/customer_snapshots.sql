-- The feature mart the churn model reads: one row per customer and month-start snapshot,
-- every feature computed from data strictly before the snapshot date.
with

spine as (

    select * from {{ ref('int_customer_snapshots') }}

),

customers as (

    select * from {{ ref('stg_raw__customers') }}

),

activity as (

    select * from {{ ref('int_activity_windows') }}

),

last_activity as (

    select * from {{ ref('int_last_activity') }}

),

payments as (

    select * from {{ ref('int_payment_windows') }}

),

tickets as (

    select * from {{ ref('int_ticket_windows') }}

),

payment_history as (

    select * from {{ ref('int_payment_history') }}

),

purchase_rhythm as (

    select * from {{ ref('int_btyd_scores') }}

),

activity_gaps as (

    select
        customer_id,
        snapshot_date,
        {{ dbt.datediff('last_activity_date', 'snapshot_date', 'day') }} as days_since_last,
        {{ dbt.datediff('first_ever_activity_date', 'last_activity_date', 'day') }} as active_span,
        {{ dbt.datediff('first_ever_activity_date', 'snapshot_date', 'day') }} as observed_span,
        active_days_to_date

    from last_activity

),

final as (

    select
        spine.customer_id,
        spine.snapshot_date,
        customers.customer_name,
        customers.segment,
        customers.region,
        spine.plan,
        spine.billing_period,
        cast(spine.seats as double) as seats,
        {% if var('churn_definition') == 'non_contractual' -%}
            coalesce(payments.paid_amount_90d, 0) / 3.0 as mrr,
        {%- else -%}
            spine.mrr,
        {%- endif %}
        spine.mrr / nullif(spine.seats, 0) as price_per_seat,
        spine.mrr_change_90d,
        cast(spine.tenure_days as double) as tenure_days,
        cast(spine.days_to_renewal as double) as days_to_renewal,
        cast(coalesce(activity.active_days_7d, 0) as double) as active_days_7d,
        cast(coalesce(activity.active_days_30d, 0) as double) as active_days_30d,
        cast(coalesce(activity.active_days_90d, 0) as double) as active_days_90d,
        cast(coalesce(activity.events_7d, 0) as double) as events_7d,
        cast(coalesce(activity.events_30d, 0) as double) as events_30d,
        cast(coalesce(activity.events_90d, 0) as double) as events_90d,
        cast(coalesce(last_activity.active_days_6m, 0) as double) as active_days_6m,
        cast(coalesce(last_activity.events_6m, 0) as double) as events_6m,
        cast(coalesce(activity.events_30d, 0) as double)
        / nullif(activity.events_prev_30d, 0) as events_trend_30d,
        coalesce(activity.avg_daily_active_users_30d, 0)
        / nullif(spine.seats, 0) as seat_utilization_30d,
        cast(
            {{ dbt.datediff('last_activity.last_activity_date', 'spine.snapshot_date', 'day') }}
            as double
        ) as days_since_last_activity,
        cast(coalesce(last_activity.active_days_to_date, 0) as double) as active_days_to_date,
        cast(
            {{ dbt.datediff('last_activity.last_activity_date', 'spine.snapshot_date', 'day') }}
            as double
        ) / nullif(
            {{ dbt.datediff('last_activity.first_ever_activity_date', 'spine.snapshot_date', 'day') }}
            / last_activity.active_days_to_date,
            0
        ) as recency_vs_usual_gap,
        cast(coalesce(payments.failed_payments_30d, 0) as double) as failed_payments_30d,
        cast(coalesce(payments.failed_payments_90d, 0) as double) as failed_payments_90d,
        cast(coalesce(payments.paid_amount_30d, 0) as double) as paid_amount_30d,
        cast(coalesce(payments.paid_amount_90d, 0) as double) as paid_amount_90d,
        cast(coalesce(last_activity.events_to_date, 0) as double) as events_to_date,
        cast(coalesce(payment_history.paid_amount_to_date, 0) as double) as paid_amount_to_date,
        payment_history.paid_amount_to_date
        / nullif(payment_history.payments_to_date, 0) as average_payment,
        cast(payment_history.largest_payment_to_date as double) as largest_payment,
        cast(activity_gaps.active_span as double)
        / nullif(activity_gaps.active_days_to_date - 1, 0) as average_days_between_activity,
        cast(activity_gaps.days_since_last as double) / nullif(
            cast(activity_gaps.active_span as double) / nullif(activity_gaps.active_days_to_date - 1, 0),
            0
        ) as recency_vs_average_gap,
        cast(activity_gaps.active_span as double)
        / nullif(activity_gaps.observed_span, 0) as activity_span_share,
        cast(coalesce(tickets.tickets_30d, 0) as double) as tickets_30d,
        cast(coalesce(tickets.tickets_90d, 0) as double) as tickets_90d,
        cast(coalesce(tickets.urgent_tickets_90d, 0) as double) as urgent_tickets_90d,
        purchase_rhythm.btyd_p_alive,
        purchase_rhythm.btyd_p_no_purchase,
        purchase_rhythm.btyd_expected_purchases,
        {% if var('churn_definition') == 'non_contractual' -%}
            coalesce(
                purchase_rhythm.btyd_expected_spend,
                payment_history.paid_amount_to_date
                / greatest(cast(activity_gaps.observed_span as double) / 30.44, 1.0)
                * {{ var('horizon_days') }} / 30.44,
                0
            ) as customer_value,
        {%- else -%}
            spine.mrr as customer_value,
        {%- endif %}
        spine.is_matured,
        spine.churned_within_horizon

    from spine
    inner join customers
        on spine.customer_id = customers.customer_id
    left join activity
        on
            spine.customer_id = activity.customer_id
            and spine.snapshot_date = activity.snapshot_date
    left join last_activity
        on
            spine.customer_id = last_activity.customer_id
            and spine.snapshot_date = last_activity.snapshot_date
    left join payments
        on
            spine.customer_id = payments.customer_id
            and spine.snapshot_date = payments.snapshot_date
    left join tickets
        on
            spine.customer_id = tickets.customer_id
            and spine.snapshot_date = tickets.snapshot_date
    left join payment_history
        on
            spine.customer_id = payment_history.customer_id
            and spine.snapshot_date = payment_history.snapshot_date
    left join activity_gaps
        on
            spine.customer_id = activity_gaps.customer_id
            and spine.snapshot_date = activity_gaps.snapshot_date
    left join purchase_rhythm
        on
            spine.customer_id = purchase_rhythm.customer_id
            and spine.snapshot_date = purchase_rhythm.snapshot_date

)

-- No ORDER BY: no table keeps its rows' order (preserve_insertion_order is off, profiles.yml;
-- Spark has partitions), and sorting the mart cost a third of this model's time under memory
-- pressure. What reads rows where order matters asks for it (ml.relations.select).
select * from final
