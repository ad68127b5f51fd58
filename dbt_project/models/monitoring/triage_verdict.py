"""The build's verdict: healthy, data_quality, world_change or model, with evidence and owner."""

import pyarrow as pa

from ml import relations
from monitoring.changes import accuracy_moved, judge
from monitoring.verdict import decide, evidence_json
from monitoring.windows import windows_from_config

SCHEMA = pa.schema(
    [
        ("verdict", pa.string()),
        ("owner", pa.string()),
        ("summary", pa.string()),
        ("evidence", pa.string()),
        ("changed_at", pa.date32()),
        ("data_as_of", pa.date32()),
        ("recent_start", pa.date32()),
        ("checks_fired", pa.int64()),
        ("features_drifted", pa.int64()),
        ("model_version", pa.string()),
        ("model_decision", pa.string()),
    ]
)


def model(dbt, session):
    dbt.config(materialized="table")
    settings = relations.to_pandas(dbt.ref("monitor_config"))
    checks = relations.to_pandas(dbt.ref("monitor_data_quality"))
    drift = relations.to_pandas(dbt.ref("monitor_feature_drift"))
    performance = relations.to_pandas(dbt.ref("monitor_performance"))
    in_service = relations.to_pandas(dbt.ref("ml_model_in_service"))
    dictionary = relations.to_pandas(dbt.ref("feature_dictionary"))
    changes = relations.to_pandas(dbt.ref("monitor_pipeline_changes"))
    shifts = relations.to_pandas(dbt.ref("monitor_feature_shifts"))
    before = relations.to_pandas(dbt.source("context", "previous_metrics"))
    metrics = relations.to_pandas(dbt.ref("ml_backtest_metrics"))
    after = metrics[["scoring_month", "method", "roc_auc"]]
    windows = windows_from_config(settings.iloc[0].to_dict())
    service = in_service.iloc[0].to_dict()
    labels = dict(zip(dictionary["feature"], dictionary["label"], strict=True))
    verdict = decide(
        checks,
        drift,
        performance,
        windows,
        labels=labels,
        model_reason=str(service["decision_reason"]),
        pipeline=judge(changes, shifts, accuracy_moved(before, after), labels),
    )
    row = {
        "verdict": verdict.verdict,
        "owner": verdict.owner,
        "summary": verdict.summary,
        "evidence": evidence_json(verdict.evidence),
        "changed_at": verdict.changed_at,
        "data_as_of": windows.as_of,
        "recent_start": windows.recent_start,
        "checks_fired": int(checks["fired"].sum()),
        "features_drifted": int(
            (drift["drifted"] & drift["counted"] & (drift["kind"] != "prediction")).sum()
        ),
        "model_version": service["model_version"],
        "model_decision": service["decision_reason"],
    }
    return relations.result(pa.Table.from_pylist([row], schema=SCHEMA), session)
