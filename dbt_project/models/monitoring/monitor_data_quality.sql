-- The data-quality checks of this build, which also hold a new model out of service
-- (ml_model_in_service). A flat customer file has none of the event sources the monitors
-- watch: no checks, so model promotion decides on the backtest alone.
{% if var('dataset_kind') == 'flat' -%}
    select
        cast(null as string) as check_name,
        cast(null as string) as source_table,
        cast(null as string) as column_name,
        cast(null as double) as value,  -- noqa: RF04
        cast(null as double) as threshold,
        cast(null as boolean) as fired,
        cast(null as date) as first_seen,
        cast(null as string) as message
    where false
{%- else -%}
    select * from {{ ref('monitor_quality_checks') }}
{%- endif %}
