{#- Fails for every non-null value of `column_name` outside [min_value, max_value]. -#}
{% test between(model, column_name, min_value, max_value) %}

    select {{ column_name }}

    from {{ model }}
    where {{ column_name }} < {{ min_value }} or {{ column_name }} > {{ max_value }}

{% endtest %}
