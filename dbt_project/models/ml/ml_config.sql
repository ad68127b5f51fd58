-- The ML settings from dbt vars, as one row every Python model reads.
select
    {{ var('horizon_days') }} as horizon_days,
    {{ var('capacity_k') }} as capacity_k,
    {{ var('backtest_months') }} as backtest_months,
    {{ var('min_train_months') }} as min_train_months,
    {{ dbt.string_literal(tojson(var('include_features', []))) }} as include_features,
    {{ dbt.string_literal(tojson(var('exclude_features', []))) }} as exclude_features,
    {{ dbt.string_literal(tojson(var('xgboost_params', {}))) }} as xgboost_params,
    {{ var('promotion_tolerance') }} as promotion_tolerance
