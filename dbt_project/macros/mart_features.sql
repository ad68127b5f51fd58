{#
    The model features of the event-based feature mart: every column of customer_snapshots
    whose meta has a `kind` (see customer_snapshots.yml), in column order, with its label,
    kind, unit, wording and drift rule. A dataset may reword features (dbt var
    `feature_wording`, set by a mapping's `features:`): {name: {label, unit, reason,
    reason_if_missing, description}}, for example "Units bought to date" where events are
    units. Empty while dbt parses (the graph is read at run time).
#}
{% macro mart_features() %}
    {%- set features = [] -%}
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
                        'description': column.description,
                    } -%}
                    {%- for key, value in wording.get(column.name, {}).items()
                        if key in ('label', 'unit', 'reason', 'reason_if_missing', 'description') -%}
                        {%- do feature.update({key: value}) -%}
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


{#
    Features the model also sees as a percentile among the customers of the same snapshot
    (dbt var `percentile_features`, a list of numeric feature names): `<name>_percentile`,
    0 for the lowest value of the month and 1 for the highest, empty where the feature is empty.
    A total that grows with every month of data (amount paid to date) is on another scale in
    a young dataset's first months than later; its percentile is not, so a model trained on
    early snapshots still ranks later ones. Each becomes a feature of its own, worded from the
    feature it ranks, with its drift rule: while a young dataset fills, ties at the bottom of
    a total to date (one active day) thin out and move its percentile too. Unknown or
    non-numeric names stop the build and say what to use instead.
#}
{% macro percentile_features() %}
    {%- set wanted = var('percentile_features', []) -%}
    {%- if wanted is string or wanted is mapping -%}
        {{ exceptions.raise_compiler_error(
            "percentile_features must be a list of feature names, such as [paid_amount_to_date]."
        ) }}
    {%- endif -%}
    {%- set numeric = {} -%}
    {%- for feature in mart_features() if feature.kind == 'numeric' -%}
        {%- do numeric.update({feature.name: feature}) -%}
    {%- endfor -%}
    {%- set features = [] -%}
    {%- set seen = [] -%}
    {%- for name in wanted if name not in seen -%}
        {%- do seen.append(name) -%}
        {%- if execute and name not in numeric -%}
            {{ exceptions.raise_compiler_error(
                "percentile_features: '" ~ name ~ "' is not a numeric feature of "
                ~ "customer_snapshots. Use the column name of a feature of kind numeric in "
                ~ "the feature_dictionary table, such as paid_amount_to_date."
            ) }}
        {%- endif -%}
        {%- set base = numeric.get(name, {}) -%}
        {%- do features.append({
            'name': name ~ '_percentile',
            'of': name,
            'label': (base.label or name) ~ ' (percentile)',
            'kind': 'numeric',
            'unit': 'percentile',
            'reason': (base.label or name) ~ ': {value} among customers',
            'reason_if_missing': base.reason_if_missing or '',
            'drift': base.drift or '',
            'description': 'Share of the customers of the same snapshot with a lower '
                ~ (base.label or name) | lower ~ ' (percentile, 0 to 1; from percentile_features).',
        }) -%}
    {%- endfor -%}
    {{ return(features) }}
{% endmacro %}
