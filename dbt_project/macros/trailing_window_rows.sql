{#
    Place every event row in each month-start snapshot that follows it within `max_days`.

    Returns the columns of `relation` plus `snapshot_date` and `days_before` (1 = the day
    before the snapshot). Events on the snapshot day or later never reach that snapshot, so
    features built on top are point-in-time by construction. Fanning out to the few month
    starts that follow an event is linear in the events, unlike a range join against every
    snapshot.
#}
{% macro trailing_window_rows(relation, date_column, max_days) %}
    {%- set months_ahead = (max_days // 28) + 1 -%}
    with

    events as (

        select
            *,
            cast({{ date_column }} as date) as _event_date

        from {{ relation }}
        where {{ snapshots_to_build(date_column, days_before=max_days) }}

    ),

    offsets as (

        {{ integer_rows(1, months_ahead, 'months_ahead') }}

    ),

    fanned as (

        select
            events.*,
            cast(
                {{ dbt.dateadd('month', 'offsets.months_ahead', "date_trunc('month', events._event_date)") }}
                as date
            ) as snapshot_date

        from events
        cross join offsets

    )

    select
        {{ star_except(['_event_date']) }},
        {{ dbt.datediff('_event_date', 'snapshot_date', 'day') }} as days_before

    from fanned
    where
        {{ dbt.datediff('_event_date', 'snapshot_date', 'day') }} between 1 and {{ max_days }}
        and {{ snapshots_to_build('snapshot_date') }}
{% endmacro %}
