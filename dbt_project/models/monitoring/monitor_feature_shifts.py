"""Features of one snapshot as the build in service computed them and as this build does: a
feature that moved on the same snapshot moved because the pipeline changed, not the world
(monitoring.changes). Empty when no code or config feeding the features changed."""

import pandas as pd
import pyarrow as pa

from ml import relations
from ml.frame import CUSTOMER, SNAPSHOT
from monitoring.changes import moved_features

SCHEMA = pa.schema([("feature", pa.string()), ("psi", pa.float64()), ("moved", pa.bool_())])


# Reads many rows into this process: one such model at a time (ml.relations).
@relations.one_at_a_time
def model(dbt, session):
    dbt.config(materialized="table")
    before = relations.to_pandas(dbt.source("context", "previous_features"))
    dictionary = relations.to_pandas(dbt.ref("feature_dictionary"))
    if before.empty:
        return relations.result(pa.Table.from_pylist([], schema=SCHEMA), session, SCHEMA)
    day = before[SNAPSHOT].max()
    features = dbt.ref("ml_features")
    same_day = (
        f"{relations.quote(features, SNAPSHOT)} = DATE '{pd.Timestamp(day).date().isoformat()}'"
    )
    after = relations.read(features, where=same_day, stable_by=CUSTOMER)
    kinds = dict(zip(dictionary["feature"], dictionary["kind"], strict=True))
    shifts = moved_features(before, after, kinds)
    return relations.result(shifts, session, SCHEMA)
