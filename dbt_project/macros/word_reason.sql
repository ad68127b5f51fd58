{#
    A feature's value in plain words, as a fact ("No activity for 41 days", "Product usage
    down 45% vs the previous month"), from the `reason` template in the feature mart's column
    meta. The same words serve risk drivers and risk reducers, so templates state the fact
    and never judge it ("only", "too few"): whether it raises or lowers risk comes from the
    sign of the SHAP contribution, not from the wording.

    Placeholders in a template:
      {value}   the value formatted by its unit ($1,234, 45%, 3, 2.5x, -45%)
      {change}  the value as a change: "up $120", "down 45%" (ratio: against 1), "unchanged"
      {s}       "s" unless the value is exactly 1 ("{value} failed payment{s}")
    ({horizon}, the churn horizon as "90 days", is filled in earlier, by mart_features, in
    labels too.)
    A missing value uses `reason_if_missing`; a feature without a template reads
    "<label>: <value>".

    Arguments are column names of one row: the template, the wording of a missing value, the
    label, the raw value (text), the value formatted by unit (format_feature_value) and the
    value as a change (format_feature_change). Formatting is costly on millions of rows, so
    the caller computes each once and only where a template uses it.
#}
{% macro word_reason(template, if_missing, label, value, display_value, change_value) %}
    case
        when {{ value }} is null or {{ value }} = ''
            then coalesce(nullif({{ if_missing }}, ''), {{ label }} || ': no data')
        when coalesce({{ template }}, '') = '' then {{ label }} || ': ' || {{ display_value }}
        else replace(
            replace(
                replace({{ template }}, '{value}', {{ display_value }}),
                '{change}',
                coalesce({{ change_value }}, '')
            ),
            '{s}',
            case when try_cast({{ value }} as double) = 1 then '' else 's' end
        )
    end
{% endmacro %}


{#
    A value read as a change: "up"/"down" and its size formatted by unit, or "unchanged"
    when that size rounds to zero. Ratios (unit `ratio`) compare with 1 ("down 45%"),
    everything else with 0 ("down $120").
#}
{% macro format_feature_change(value, unit) %}
    {%- set number = 'try_cast(' ~ value ~ ' as double)' -%}
    {%- set size = 'cast(abs(' ~ number ~ ') as string)' -%}
    case
        when {{ number }} is null then coalesce({{ value }}, 'no data')
        when {{ unit }} = 'ratio' and round(100 * abs({{ number }} - 1)) = 0 then 'unchanged'
        when {{ unit }} = 'ratio' and {{ number }} > 1
            then 'up ' || {{ format_decimal('100 * (' ~ number ~ ' - 1)', 0, thousands=true) }} || '%'
        when {{ unit }} = 'ratio' then 'down ' || {{ format_decimal('100 * (1 - ' ~ number ~ ')', 0) }} || '%'
        else regexp_replace(
            (case when {{ number }} > 0 then 'up ' else 'down ' end)
            || {{ format_feature_value(size, unit) }},
            '^(up|down) [$]?0([.]0)?[%x]?$',
            'unchanged'
        )
    end
{% endmacro %}
