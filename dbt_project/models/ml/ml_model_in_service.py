"""Choose the model that scores this build: the candidate, the model in service, or a pin.

A data-quality alarm (monitor_data_quality) keeps the model in service: a model trained on
broken inputs never replaces one trained on good data.
"""

import math

import pyarrow as pa

from ml import relations
from ml.config import load_settings
from ml.promotion import as_row, decide
from ml.registry import RECORD_SCHEMA
from monitoring.quality import hold_for_data_quality

DECISION_COLUMNS = [
    ("candidate_version", pa.string()),
    ("promoted", pa.bool_()),
    ("decision_reason", pa.string()),
]
SCHEMA = pa.schema([*RECORD_SCHEMA, *DECISION_COLUMNS])


def model(dbt, session):
    dbt.config(materialized="table")
    candidates = relations.to_pandas(dbt.ref("ml_model_candidate"))
    metrics = relations.to_pandas(dbt.ref("ml_backtest_metrics"))
    options = relations.to_pandas(dbt.ref("ml_config"))
    versions = relations.to_pandas(dbt.source("registry", "model_versions"))
    state = relations.to_pandas(dbt.source("registry", "service_state"))
    quality = relations.to_pandas(dbt.ref("monitor_data_quality"))

    candidate = candidates.iloc[0].to_dict()
    model_auc = metrics.loc[metrics["method"] == "xgboost", "roc_auc"].mean()
    serving = state.iloc[0].to_dict() if len(state) else {}
    serving_version = serving.get("model_version")
    known = versions[versions["model_version"] == serving_version]
    serving_auc = float(known["backtest_roc_auc"].iloc[0]) if len(known) else None
    decision = decide(
        candidate_version=candidate["model_version"],
        candidate_auc=float(model_auc) if not math.isnan(model_auc) else math.nan,
        in_service_version=serving_version if len(known) else None,
        in_service_auc=serving_auc,
        pinned=bool(serving.get("pinned", False)),
        tolerance=load_settings(options).promotion_tolerance,
    )
    decision = hold_for_data_quality(decision, quality, serving_version if len(known) else None)
    if decision.promoted:
        record = candidate
    else:
        row = known.iloc[0].to_dict()
        record = {name: row.get(name) for name in RECORD_SCHEMA.names}
        record["build_id"] = row.get("build_id")
    return relations.result(
        pa.Table.from_pylist([as_row(decision, record)], schema=SCHEMA), session
    )
