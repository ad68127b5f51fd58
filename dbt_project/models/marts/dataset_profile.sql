-- What kind of business the data describes, in one row, so every page and export can use its
-- words: the churn definition and horizon, what the value at risk is (monthly revenue, or
-- the spend expected within the horizon when there is no contract), the currency, and the
-- names of the customer attributes (a mapping may call `segment` "Contract", say).
{%- set labels = var('attribute_labels') %}

with

final as (

    select
        {{ dbt.string_literal(var('dataset_kind')) }} as dataset_kind,
        {{ dbt.string_literal(var('churn_definition')) }} as churn_definition,
        {{ var('horizon_days') }} as horizon_days,
        {{ var('capacity_k') }} as capacity_k,
        {{ var('data_expected_every_days') }} as data_expected_every_days,
        {{ dbt.string_literal(value_kind()) }} as value_kind,
        {{ dbt.string_literal(var('currency') | upper) }} as currency,
        {{ dbt.string_literal(dbt.escape_single_quotes(labels.get('segment', 'Segment'))) }} as segment_label,
        {{ dbt.string_literal(dbt.escape_single_quotes(labels.get('plan', 'Plan'))) }} as plan_label,
        {{ dbt.string_literal(dbt.escape_single_quotes(labels.get('region', 'Region'))) }} as region_label

)

select * from final
