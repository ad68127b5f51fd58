-- What changed in the pipeline's code, config, data and libraries since the build in service
-- when this build started, with who owns each change (pipeline/build/fingerprint.py): the
-- context source `changes`, written by the pipeline before dbt runs.
with

changes as (

    select * from {{ source('context', 'changes') }}

),

final as (

    select
        kind,
        name,
        owner,
        detail,
        layer,
        feeds_features

    from changes

)

select * from final
