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
from ml.frame import load_labeled
from ml.registry import RECORD_SCHEMA


def model(dbt, session):
    dbt.config(materialized="table")
    snapshots = dbt.ref("customer_snapshots")
    options = dbt.ref("ml_config").df()
    dictionary = dbt.ref("feature_dictionary").df()
    config = from_dbt(options.iloc[0].to_dict(), dictionary.to_dict("records"))
    # Only labeled rows and the columns training reads, compact (ml.frame.load_labeled).
    labeled = load_labeled(snapshots, config)
    record = candidate_record(
        labeled,
        config,
        trained_at=datetime.now(UTC),
        invocation_id=os.environ.get("BATON_BUILD_ID", "dbt-cli"),
        cache=folder_from_env("candidate"),
    )
    return pa.Table.from_pylist([record], schema=RECORD_SCHEMA)
