-- The data as-of date of a flat customer file: the `as_of` var when set, else the day after
-- the newest export (int_data_as_of is the event data's).
with

exports as (

    select max(exported_on) as latest from {{ ref('customer_exports_history') }}

),

final as (

    select {{ as_of_date('latest') }} as as_of_date

    from exports

)

select * from final
