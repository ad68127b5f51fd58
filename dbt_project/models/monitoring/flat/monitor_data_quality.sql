-- A flat customer file has none of the event sources the data-quality monitors watch: no
-- checks, so model promotion (ml_model_in_service) decides on the backtest alone. Replaces
-- the event-based model of the same name when `dataset_kind` is flat.
with

final as (

    select
        cast(null as varchar) as check_name,
        cast(null as varchar) as source_table,
        cast(null as varchar) as column_name,
        cast(null as double) as value,  -- noqa: RF04
        cast(null as double) as threshold,
        cast(null as boolean) as fired,
        cast(null as date) as first_seen,
        cast(null as varchar) as message

    where false

)

select * from final
