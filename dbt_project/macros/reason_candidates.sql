{#
    The factors that may be named as a customer's reasons, largest bar first: every factor
    that raises the customer's risk (positive points on their Why waterfall), one per family
    of factors that say nearly the same thing (the family's largest bar) and one per sentence
    (two factors worded alike are one reason).

    One select with customer_id, feature, family, label, reason and points, read by
    common_reasons (its rounds, macros/shared_reasons_round.sql: which families nearly everyone
    on the list shares) and at_risk_customers
    (each customer's three reasons, the shared families left out), so both rank alike.
#}
{% macro reason_candidates(explanations, features) %}
    select
        customer_id,
        feature,
        family,
        label,
        reason,
        points

    from (

        select
            explanations.customer_id,
            explanations.feature,
            features.family,
            explanations.label,
            explanations.reason,
            explanations.points,
            row_number() over (
                partition by explanations.customer_id, features.family
                order by explanations.points desc, explanations.feature asc
            ) as family_rank,
            row_number() over (
                partition by explanations.customer_id, explanations.reason
                order by explanations.points desc, explanations.feature asc
            ) as sentence_rank

        from {{ explanations }} as explanations
        inner join {{ features }} as features
            on explanations.feature = features.feature
        where explanations.points > 0

    ) as raising

    where family_rank = 1 and sentence_rank = 1
{% endmacro %}
