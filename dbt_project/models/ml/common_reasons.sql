-- Families of factors that are among the three reasons of nearly every customer the team can
-- contact (capacity k), as the at-risk list shows them: a reason everyone shares says nothing
-- about one customer (in a closed cohort, "customer for 460 days" is true of all), so the
-- list leaves it out of each row and names it once. At least `common_reason_min_customers`.
--
-- Found in rounds, until a round finds none: leaving shared families out brings the next
-- factors up into the three, and those can be shared by nearly everyone too (a shop's lapsed
-- buyers: no purchase expected, then none in 90 days, then none in 30 days, ...). Each round
-- is one small query on the built explanations (run_query, at run time); the table lists
-- every family found, with its share in the round that found it. Families and features are
-- names from the mart's column meta (never a mapping's words), so they are written as
-- literals; labels come from feature_dictionary.
-- The rounds read these (built first):
-- depends_on: {{ ref('customer_explanations') }}
-- depends_on: {{ ref('ml_predictions') }}
{%- set shared = [] -%}
{#- Only when dbt runs models (a compile, sqlfluff's included, has no tables to query). -#}
{%- if execute and flags.WHICH in ('run', 'build') -%}
    {%- set state = namespace(done=false) -%}
    {#- A bound never reached: each round that goes on adds a family, and there are fewer. -#}
    {%- for _ in range(200) if not state.done -%}
        {%- set found = run_query(shared_reasons_round(shared | map(attribute='family') | list)) -%}
        {%- for row in found.rows -%}
            {%- do shared.append({
                'family': row['family'],
                'feature': row['feature'],
                'customers': row['customers'] | int,
                'share_of_list': row['share_of_list'] | float,
                'points': row['points'] | float,
            }) -%}
        {%- endfor -%}
        {%- set state.done = found.rows | length == 0 -%}
    {%- endfor -%}
{%- endif %}
with

features as (

    select * from {{ ref('feature_dictionary') }}

),

shared as (

    select
        family,
        feature,
        cast(0 as bigint) as customers,
        cast(0 as double) as share_of_list,
        cast(0 as double) as points

    from features
    where 1 = 0
    {%- for family in shared %}

    union all

    select
        '{{ family.family }}' as family,
        '{{ family.feature }}' as feature,
        cast({{ family.customers }} as bigint) as customers,
        cast({{ family.share_of_list }} as double) as share_of_list,
        cast({{ family.points }} as double) as points
    {%- endfor %}

),

final as (

    select
        shared.feature,
        features.label,
        shared.customers,
        shared.share_of_list,
        shared.family,
        shared.points

    from shared
    inner join features
        on shared.feature = features.feature

)

select * from final
