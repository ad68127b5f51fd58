"""Features of one snapshot as the build in service computed them and as this build does: a
feature that moved on the same snapshot moved because the pipeline changed, not the world
(monitoring.changes). Empty when no code or config feeding the features changed."""

import pyarrow as pa

from ml.frame import SNAPSHOT
from monitoring.changes import moved_features

SCHEMA = pa.schema([("feature", pa.string()), ("psi", pa.float64()), ("moved", pa.bool_())])


def model(dbt, session):
    dbt.config(materialized="table")
    before = dbt.source("context", "previous_features").df()
    dictionary = dbt.ref("feature_dictionary").df()
    if before.empty:
        return pa.Table.from_pylist([], schema=SCHEMA)
    day = before[SNAPSHOT].max()
    after = dbt.ref("ml_features").filter(f"{SNAPSHOT} = DATE '{day.isoformat()}'").df()
    kinds = dict(zip(dictionary["feature"], dictionary["kind"], strict=True))
    shifts = moved_features(
        before,
        after,
        numeric=[name for name, kind in kinds.items() if kind == "numeric"],
        categorical=[name for name, kind in kinds.items() if kind == "categorical"],
    )
    return pa.Table.from_pandas(shifts, schema=SCHEMA, preserve_index=False)
