{#
    A feature value in plain words, by the unit declared in the feature mart's column meta:
    money as $1,234 (in the dataset's currency, var `currency`), shares as 45%, trends as "-45%", percentiles within a month as "top 15%"
    or "bottom 30%" (or "lowest"/"highest"), expected counts to one decimal (`decimal`),
    counts and days as whole numbers.
#}
{% macro format_feature_value(value, unit) %}
    case
        when {{ value }} is null or {{ value }} = '' then 'no data'
        when {{ unit }} = 'money'
            then '{{ currency_symbol() }}' || format('{:,.0f}', try_cast({{ value }} as double))
        when {{ unit }} = 'share'
            then format('{:.0f}%', 100 * try_cast({{ value }} as double))
        when {{ unit }} = 'percentile' then (
            case
                when try_cast({{ value }} as double) <= 0 then 'lowest'
                when try_cast({{ value }} as double) >= 1 then 'highest'
                when try_cast({{ value }} as double) >= 0.5
                    then 'top ' || format('{:.0f}%', greatest(1, 100 * (1 - try_cast({{ value }} as double))))
                else 'bottom ' || format('{:.0f}%', greatest(1, ceil(100 * try_cast({{ value }} as double))))
            end
        )
        when {{ unit }} = 'decimal'
            then format('{:,.1f}', try_cast({{ value }} as double))
        when {{ unit }} = 'times'
            then format('{:.1f}x', try_cast({{ value }} as double))
        when {{ unit }} = 'ratio'
            then format('{:+.0f}%', 100 * (try_cast({{ value }} as double) - 1))
        when try_cast({{ value }} as double) is not null
            then format('{:,.0f}', try_cast({{ value }} as double))
        else {{ value }}
    end
{% endmacro %}
