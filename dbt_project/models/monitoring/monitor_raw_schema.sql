-- The raw schema as this build sees it (tables and columns of the attached raw database), so
-- the next build can tell a renamed, retyped or removed column from the data it carries.
with

raw_columns as (

    {{ raw_columns() }}

),

final as (

    select
        table_name as source_table,
        column_name,
        lower(data_type) as data_type,
        ordinal_position

    from raw_columns

)

select * from final
