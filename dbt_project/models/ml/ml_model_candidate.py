"""Train this build's candidate model on every matured snapshot (booster as XGBoost JSON)."""

import os
from datetime import UTC, datetime

import pyarrow as pa

from ml.config import from_dbt
from ml.frame import LABEL
from ml.registry import RECORD_SCHEMA, data_fingerprint, to_record
from ml.train import fit_churn_model


def model(dbt, session):
    dbt.config(materialized="table")
    snapshots = dbt.ref("customer_snapshots").df()
    options = dbt.ref("ml_config").df()
    dictionary = dbt.ref("feature_dictionary").df()
    config = from_dbt(options.iloc[0].to_dict(), dictionary.to_dict("records"))
    labeled = snapshots[snapshots[LABEL].notna()]
    fitted = fit_churn_model(labeled, config)
    record = to_record(
        fitted,
        trained_at=datetime.now(UTC),
        fingerprint=data_fingerprint(labeled),
        invocation_id=os.environ.get("BATON_BUILD_ID", "dbt-cli"),
    )
    return pa.Table.from_pylist([record], schema=RECORD_SCHEMA)
