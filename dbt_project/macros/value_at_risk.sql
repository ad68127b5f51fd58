{#
    What the value at risk of this dataset is: `monthly_revenue` (MRR in force, contractual
    churn; a flat file's monthly revenue column) or `expected_spend` (what a customer is
    expected to spend within the horizon if they stay, non-contractual churn; see
    customer_snapshots.customer_value).
#}
{% macro value_kind() %}
    {%- if var('dataset_kind') != 'flat' and var('churn_definition') == 'non_contractual' -%}
        {{ return('expected_spend') }}
    {%- else -%}
        {{ return('monthly_revenue') }}
    {%- endif -%}
{% endmacro %}


{#
    The symbol money is shown with (dbt var `currency`, an ISO 4217 code such as USD or GBP);
    a code without a common symbol is shown as the code and a space ("CHF 1,200").
#}
{% macro currency_symbol() %}
    {%- set symbols = {'USD': '$', 'GBP': '£', 'EUR': '€', 'JPY': '¥', 'CNY': '¥', 'INR': '₹',
        'KRW': '₩', 'BRL': 'R$', 'AUD': 'A$', 'CAD': 'C$', 'NZD': 'NZ$', 'MXN': 'MX$'} -%}
    {%- set code = var('currency') | upper -%}
    {{ return(symbols.get(code, code ~ ' ')) }}
{% endmacro %}
