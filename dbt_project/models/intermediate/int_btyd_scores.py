"""BG/NBD and Gamma-Gamma scores per customer and snapshot, fitted snapshot by snapshot on
histories that end before it (ml.btyd_scores): the field's baseline for non-contractual
churn, model features, and the spend a customer is expected to bring if they stay."""

import pyarrow as pa

from ml import relations
from ml.btyd_scores import score_snapshots

SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("snapshot_date", pa.date32()),
        ("btyd_p_alive", pa.float64()),
        ("btyd_p_no_purchase", pa.float64()),
        ("btyd_expected_purchases", pa.float64()),
        ("btyd_expected_spend", pa.float64()),
    ]
)


def model(dbt, session):
    # Materialization in dbt_project.yml: incremental by snapshot month on DuckDB.
    start = relations.scalar(dbt.ref("int_recompute_from"), "min(recompute_from)")
    where = f"snapshot_date >= DATE '{start.isoformat()}'" if dbt.is_incremental else None
    histories = relations.read(
        dbt.ref("int_purchase_histories"), where=where, stable_by="customer_id"
    )
    horizon = relations.scalar(dbt.ref("int_snapshot_dates"), "max(horizon_days)")
    if histories.empty:
        return relations.result(pa.Table.from_pylist([], schema=SCHEMA), session)
    scores = score_snapshots(histories, int(horizon), value_column="average_value")
    scores["snapshot_date"] = scores["snapshot_date"].dt.date
    return relations.result(
        pa.Table.from_pandas(scores[SCHEMA.names], schema=SCHEMA, preserve_index=False), session
    )
