-- Global feature importance: mean absolute SHAP value over the scored customers.
with

explanations as (

    select * from {{ ref('customer_explanations') }}

),

final as (

    select
        feature,
        label,
        avg(abs(contribution)) as mean_abs_shap

    from explanations
    group by feature, label

)

select * from final
order by mean_abs_shap desc
