{#
    The data as-of date: the `as_of` var when set, else the day after `latest` (the newest
    event or export). One rule for event data and flat files.
#}
{% macro as_of_date(latest) -%}
    {%- if var('as_of') -%}
        cast('{{ var("as_of") }}' as date)
    {%- else -%}
        cast({{ latest }} + interval 1 day as date)
    {%- endif -%}
{%- endmacro %}
