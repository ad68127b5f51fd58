{#
    The model features of the event-based feature mart: every column of customer_snapshots
    whose meta has a `kind` (see customer_snapshots.yml), in column order, with its label,
    kind, unit, wording and drift rule. Non-contractual data (var churn_definition) takes a
    feature's `non_contractual` words from its meta where it has them. A dataset may reword features
    (dbt var `feature_wording`, set by a mapping's `features:`): {name: {label, unit, reason,
    reason_if_missing, description}}, for example "Units bought to date" where events are
    units. `{horizon}` in a label or reason reads as the churn horizon ("90 days"). Empty
    while dbt parses (the graph is read at run time).
#}
{% macro mart_features() %}
    {%- set features = [] -%}
    {%- set wording = var('feature_wording', {}) -%}
    {%- set horizon = var('horizon_days') ~ ' days' -%}
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
                        'family': meta.family or column.name,
                        'description': column.description,
                    } -%}
                    {#- Default words of non-contractual data (a shop): no subscription, so no "Pays $X a month". -#}
                    {%- if var('churn_definition') == 'non_contractual' and meta.non_contractual -%}
                        {%- for key, value in meta.non_contractual.items() if key in ('label', 'reason') -%}
                            {%- do feature.update({key: value}) -%}
                        {%- endfor -%}
                    {%- endif -%}
                    {%- for key, value in wording.get(column.name, {}).items()
                        if key in ('label', 'unit', 'reason', 'reason_if_missing', 'description') -%}
                        {%- do feature.update({key: value}) -%}
                    {%- endfor -%}
                    {%- for key in ('label', 'reason') -%}
                        {%- do feature.update({key: (feature[key] or '').replace('{horizon}', horizon)}) -%}
                    {%- endfor -%}
                    {%- do features.append(feature) -%}
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
