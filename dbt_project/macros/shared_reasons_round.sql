{#
    One round of models/ml/common_reasons.sql: with the families already found (`excluded`,
    names) left out, the families among the three reasons of at least `common_reason_share`
    of the customers the team can contact (and at least `common_reason_min_customers`), each
    named by its factor most of them show, with how many show it, that share, and the
    average points of risk it adds for them.
#}
{% macro shared_reasons_round(excluded) %}
    with

    candidates as (

        {{ reason_candidates(ref('customer_explanations'), ref('feature_dictionary')) }}

    ),

    contactable as (

        select customer_id
        from {{ ref('ml_predictions') }}
        where risk_rank <= {{ var('capacity_k') }}

    ),

    shown as (

        select
            candidates.customer_id,
            candidates.family,
            candidates.feature,
            candidates.points,
            row_number() over (
                partition by candidates.customer_id
                order by candidates.points desc, candidates.feature asc
            ) as reason_rank

        from candidates
        inner join contactable
            on candidates.customer_id = contactable.customer_id
        {%- if excluded %}
        where candidates.family not in ('{{ excluded | join("', '") }}')
        {%- endif %}

    ),

    families as (

        select
            family,
            count(*) as customers,
            count(*) / (select count(*) from contactable) as share_of_list,
            avg(points) as points

        from shown
        where reason_rank <= 3
        group by family

    ),

    leaders as (

        select
            family,
            feature,
            row_number() over (
                partition by family
                order by count(*) desc, feature asc
            ) as leader_rank

        from shown
        where reason_rank <= 3
        group by family, feature

    )

    select
        families.family,
        leaders.feature,
        families.customers,
        families.share_of_list,
        families.points

    from families
    inner join leaders
        on
            families.family = leaders.family
            and leaders.leader_rank = 1
    where
        families.share_of_list >= {{ var('common_reason_share') }}
        and families.customers >= {{ var('common_reason_min_customers') }}
    order by families.points desc, families.family asc
{% endmacro %}
