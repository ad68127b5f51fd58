{#
    Incremental builds (docs/speed.md): the per-snapshot models keep the snapshot months an
    earlier build computed and recompute those from `int_recompute_from` on. A model is
    incremental only when the pipeline copied its table from the build in service into the
    new build (pipeline/build/incremental.py; on Spark a table partitioned by snapshot month);
    otherwise it computes every snapshot, and these macros change nothing.
#}


{#
    A predicate on `column` (a snapshot date): true for the snapshots this build computes.
    With `days_before`, on an event date: true for the events within that many days before
    such a snapshot, so a trailing window filters its events before fanning them out.
#}
{% macro snapshots_to_build(column, days_before=0) %}
    {#- Parsing records the dependency; a dbt unit test (never incremental) needs no input. -#}
    {%- if not execute -%}
        {%- do ref('int_recompute_from') -%}
    {%- endif -%}
    {#- A unit test has no `this`: it computes every snapshot of its inputs. -#}
    {%- if this is not none and is_incremental() -%}
        {%- if days_before -%}
            cast({{ column }} as date) >= (
                select {{ dbt.dateadd('day', -days_before, 'recompute_from') }}
                from {{ ref('int_recompute_from') }}
            )
        {%- else -%}
            {{ column }} >= (select recompute_from from {{ ref('int_recompute_from') }})
        {%- endif -%}
    {%- else -%}
        true
    {%- endif -%}
{% endmacro %}


{# Pre-hook of an incremental model: drop the kept rows of the snapshots it recomputes. #}
{% macro delete_snapshots_to_build() %}
    {%- if this is not none and is_incremental() -%}
        {{ adapter.dispatch('delete_snapshots_to_build')() }}
    {%- endif -%}
{% endmacro %}

{% macro default__delete_snapshots_to_build() -%}
    delete from {{ this }} where {{ snapshots_to_build('snapshot_date') }}
{%- endmacro %}

{#
    Spark's Parquet tables take no `delete`: the kept table is partitioned by snapshot month
    (pipeline/build/spark.py), so the months from `recompute_from` on are dropped, files and
    all, in one statement (none to drop: no statement, and dbt runs no hook).
#}
{% macro spark__delete_snapshots_to_build() -%}
    {%- set start = run_query(
        'select cast(recompute_from as string) from ' ~ ref('int_recompute_from')
    ).columns[0].values()[0] -%}
    {%- set months = [] -%}
    {%- for row in run_query('show partitions ' ~ this) -%}
        {%- set month = row[0].split('=', 1)[1] -%}
        {%- if month >= start -%}
            {%- do months.append("partition (snapshot_date = '" ~ month ~ "')") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if months -%}
        alter table {{ this }} drop if exists {{ months | join(', ') }}
    {%- endif -%}
{%- endmacro %}
