"""Train this build's candidate model on every matured snapshot (booster as XGBoost JSON).

A candidate whose training rows, config and code are unchanged since an earlier build is
reused from the build's ML cache instead of refitted (ml.candidate). On Spark the boosting
runs on the workers (xgboost.spark; ml.distributed).
"""

from datetime import UTC, datetime

import pyarrow as pa

from ml import relations
from ml.cache import folder
from ml.candidate import fit_candidate
from ml.config import load_settings, model_config
from ml.registry import RECORD_SCHEMA


# Reads many rows into this process: one such model at a time (ml.relations).
@relations.one_at_a_time
def model(dbt, session):
    dbt.config(materialized="table")
    snapshots = dbt.ref("ml_features")
    options = relations.to_pandas(dbt.ref("ml_config"))
    dictionary = relations.to_pandas(dbt.ref("feature_dictionary"))
    build = relations.to_pandas(dbt.source("context", "build")).iloc[0]
    config = model_config(load_settings(options), dictionary.to_dict("records"))
    # DuckDB: the labeled rows, compact, in this process; Spark: fitted where they are.
    record = fit_candidate(
        snapshots,
        config,
        trained_at=datetime.now(UTC),
        build_id=str(build["build_id"]),
        cache=folder(build["ml_cache_dir"], "candidate"),
    )
    return relations.result(pa.Table.from_pylist([record], schema=RECORD_SCHEMA), session)
