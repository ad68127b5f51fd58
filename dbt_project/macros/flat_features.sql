{#
    The features a flat customer file declares (mapping `kind: flat`, passed by the importer
    as the dbt var `flat_features`): name, label, kind, unit and reason wording. They are the
    single source of the flat feature mart's feature columns and of its feature dictionary.
    Names and kinds are checked here too, since they become column names and types.
#}
{% macro flat_features() %}
    {%- set features = var('flat_features', []) -%}
    {%- for feature in features -%}
        {%- if not modules.re.match('^[a-z][a-z0-9_]{0,62}$', feature.name or '') -%}
            {{ exceptions.raise_compiler_error(
                "flat_features: '" ~ feature.name ~ "' is not a lowercase snake_case name."
            ) }}
        {%- endif -%}
        {%- if feature.kind not in ('numeric', 'categorical') -%}
            {{ exceptions.raise_compiler_error(
                "flat_features: the kind of '" ~ feature.name ~ "' must be numeric or categorical."
            ) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(features) }}
{% endmacro %}

{# The SQL type a flat feature is stored as. #}
{% macro flat_feature_type(feature) %}
    {{- 'double' if feature.kind == 'numeric' else 'varchar' -}}
{% endmacro %}
