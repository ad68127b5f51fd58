-- Calibration in plain words: backtest customers grouped by the risk the model gave them,
-- with the share who really left ("of customers rated about 30%, 28% left").
with

predictions as (

    select * from {{ ref('ml_backtest_predictions') }}
    where method = 'xgboost'

),

binned as (

    select
        least(floor(probability * 10), 9) as risk_bin,
        probability,
        cast(churned as integer) as churned

    from predictions

),

final as (

    select
        cast(risk_bin * 10 as integer) as risk_from_pct,
        cast(risk_bin * 10 + 10 as integer) as risk_to_pct,
        count(*) as customers,
        -- Rounded: a sum of floats depends on the order of its rows, which no table keeps
        -- (profiles.yml), so builds of the same data agree to the last digit shown and stored.
        round(avg(probability), 9) as mean_predicted,
        avg(churned) as share_churned

    from binned
    group by risk_bin

)

select * from final
order by risk_from_pct
