{#
    The model features of the event-based feature mart: every column of customer_snapshots
    whose meta has a `kind` or a `percentile_of` (see customer_snapshots.yml), in column
    order, with its label, kind, unit, wording, drift rule and the feature it ranks (if a
    percentile). A percentile column takes its words from the feature it ranks: "<label>
    (percentile)", unit `percentile` ("top 15%"), reason "<label>: top 15% among customers",
    and the ranked feature's missing wording and drift rule. A dataset may reword features
    (dbt var `feature_wording`, set by a mapping's `features:`): {name: {label, unit, reason,
    reason_if_missing, description}}, for example "Units bought to date" where events are
    units. Empty while dbt parses (the graph is read at run time).
#}
{% macro mart_features() %}
    {%- set features = [] -%}
    {%- set by_name = {} -%}
    {%- set wording = var('feature_wording', {}) -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == 'customer_snapshots' -%}
            {%- for column in node.columns.values() -%}
                {%- set meta = column.config.meta if column.config and column.config.meta else column.meta -%}
                {%- if meta and meta.kind -%}
                    {%- set feature = {
                        'name': column.name,
                        'label': meta.label,
                        'kind': meta.kind,
                        'unit': meta.unit or '',
                        'reason': meta.reason or '',
                        'reason_if_missing': meta.reason_if_missing or '',
                        'drift': meta.drift or '',
                        'percentile_of': '',
                        'description': column.description,
                    } -%}
                    {%- for key, value in wording.get(column.name, {}).items()
                        if key in ('label', 'unit', 'reason', 'reason_if_missing', 'description') -%}
                        {%- do feature.update({key: value}) -%}
                    {%- endfor -%}
                    {%- do features.append(feature) -%}
                    {%- do by_name.update({column.name: feature}) -%}
                {%- elif meta and meta.percentile_of -%}
                    {%- set base = by_name.get(meta.percentile_of, {}) -%}
                    {%- do features.append({
                        'name': column.name,
                        'label': (base.label or meta.percentile_of) ~ ' (percentile)',
                        'kind': 'numeric',
                        'unit': 'percentile',
                        'reason': (base.label or meta.percentile_of) ~ ': {value} among customers',
                        'reason_if_missing': base.reason_if_missing or '',
                        'drift': base.drift or '',
                        'percentile_of': meta.percentile_of,
                        'description': column.description,
                    }) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- for name in wording if name not in (features | map(attribute='name') | list) -%}
            {{ exceptions.raise_compiler_error(
                "feature_wording: '" ~ name ~ "' is not a feature of customer_snapshots; "
                ~ "reword a feature listed in the feature_dictionary table."
            ) }}
        {%- endfor -%}
    {%- endif -%}
    {{ return(features) }}
{% endmacro %}


{#
    The percentile columns of customer_snapshots (meta `percentile_of`), each {name, of}.
    Checks the dbt var `percentile_features` (the ranked features the model uses): a name
    without a percentile column stops the build and says which names exist.
#}
{% macro percentile_columns() %}
    {%- set columns = [] -%}
    {%- for feature in mart_features() if feature.percentile_of -%}
        {%- do columns.append({'name': feature.name, 'of': feature.percentile_of}) -%}
    {%- endfor -%}
    {%- set wanted = var('percentile_features', []) -%}
    {%- if wanted is string or wanted is mapping -%}
        {{ exceptions.raise_compiler_error(
            "percentile_features must be a list of feature names, such as [paid_amount_to_date]."
        ) }}
    {%- endif -%}
    {%- set ranked = columns | map(attribute='of') | list -%}
    {%- for name in wanted if execute and name not in ranked -%}
        {{ exceptions.raise_compiler_error(
            "percentile_features: '" ~ name ~ "' is not a numeric feature of customer_snapshots "
            ~ "with a percentile column. Use one of " ~ ranked | join(', ')
            ~ " (the percentile_of column of the feature_dictionary table)."
        ) }}
    {%- endfor -%}
    {{ return(columns) }}
{% endmacro %}
