{#
    A feature value in plain words, by the unit declared in the feature mart's column meta:
    money as $1,234 (in the dataset's currency, var `currency`), shares as 45%, trends as
    "-45%", percentiles within a month as "top 15%" or "bottom 30%" (or "lowest"/"highest"),
    expected counts to one decimal (`decimal`; a positive count too small to show there as
    "less than 0.1", not "0.0"), counts and days as whole numbers.
#}
{% macro format_feature_value(value, unit) %}
    case
        when {{ value }} is null or {{ value }} = '' then 'no data'
        when {{ unit }} = 'money'
            then '{{ currency_symbol() }}' || {{ format_decimal('try_cast(' ~ value ~ ' as double)', 0, thousands=true) }}
        when {{ unit }} = 'share'
            then {{ format_decimal('100 * try_cast(' ~ value ~ ' as double)', 0) }} || '%'
        when {{ unit }} = 'percentile' then (
            case
                when try_cast({{ value }} as double) <= 0 then 'lowest'
                when try_cast({{ value }} as double) >= 1 then 'highest'
                when try_cast({{ value }} as double) >= 0.5
                    then 'top ' || {{ format_decimal('greatest(1, 100 * (1 - try_cast(' ~ value ~ ' as double)))', 0) }} || '%'
                else 'bottom ' || {{ format_decimal('greatest(1, ceil(100 * try_cast(' ~ value ~ ' as double)))', 0) }} || '%'
            end
        )
        when {{ unit }} = 'decimal' and try_cast({{ value }} as double) > 0
            and try_cast({{ value }} as double) < 0.05
            then 'less than 0.1'
        when {{ unit }} = 'decimal'
            then {{ format_decimal('try_cast(' ~ value ~ ' as double)', 1, thousands=true) }}
        when {{ unit }} = 'times'
            then {{ format_decimal('try_cast(' ~ value ~ ' as double)', 1) }} || 'x'
        when {{ unit }} = 'ratio'
            then {{ format_decimal('100 * (try_cast(' ~ value ~ ' as double) - 1)', 0, sign=true) }} || '%'
        when try_cast({{ value }} as double) is not null
            then {{ format_decimal('try_cast(' ~ value ~ ' as double)', 0, thousands=true) }}
        else {{ value }}
    end
{% endmacro %}
