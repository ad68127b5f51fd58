"""Train this build's candidate model on every matured snapshot (booster as XGBoost JSON).

A candidate whose training rows, config and code are unchanged since an earlier build is
reused from BATON_HOME/cache/candidate instead of refitted (ml.candidate).
"""

import os
from datetime import UTC, datetime

import pyarrow as pa

from ml.cache import folder_from_env
from ml.candidate import candidate_record
from ml.config import from_dbt
from ml.frame import LABEL, model_columns
from ml.registry import RECORD_SCHEMA


def model(dbt, session):
    dbt.config(materialized="table")
    snapshots = dbt.ref("customer_snapshots")
    options = dbt.ref("ml_config").df()
    dictionary = dbt.ref("feature_dictionary").df()
    config = from_dbt(options.iloc[0].to_dict(), dictionary.to_dict("records"))
    # Only labeled rows and the columns training reads (not names or flags).
    columns = [c for c in model_columns(config) if c in snapshots.columns]
    labeled = snapshots.project(", ".join(f'"{c}"' for c in columns))
    labeled = labeled.filter(f"{LABEL} is not null").df()
    record = candidate_record(
        labeled,
        config,
        trained_at=datetime.now(UTC),
        invocation_id=os.environ.get("BATON_BUILD_ID", "dbt-cli"),
        cache=folder_from_env("candidate"),
    )
    return pa.Table.from_pylist([record], schema=RECORD_SCHEMA)
