"""Score every customer of the newest snapshot with the registered model.

Scores are computed where the rows are (every row at once on DuckDB, partition by partition
on Spark; ml.relations.map_frames), then ranked over every row.
"""

from functools import partial

import pyarrow as pa

from ml import relations
from ml.frame import CUSTOMER, SNAPSHOT
from ml.registry import from_record
from ml.scoring import score_frame

SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("snapshot_date", pa.date32()),
        ("churn_probability", pa.float64()),
        ("raw_probability", pa.float64()),
        ("risk_rank", pa.int64()),
        ("model_version", pa.string()),
    ]
)
SCORES = pa.schema([field for field in SCHEMA if field.name != "risk_rank"])


# Reads many rows into this process: one such model at a time (ml.relations).
@relations.one_at_a_time
def model(dbt, session):
    dbt.config(materialized="table")
    # Not chained after a subscript: dbt finds refs by walking the code, and misses those.
    service = relations.to_pandas(dbt.ref("ml_model_in_service"))
    record = service.iloc[0].to_dict()
    fitted = from_record(record)
    # Only the newest snapshot is scored: filtered on the engine, not after loading every month.
    latest = relations.newest(dbt.ref("ml_features"), SNAPSHOT, stable_by=CUSTOMER)
    scored = relations.map_frames(
        latest, partial(score_frame, fitted, record["model_version"]), SCORES
    )
    # Rank by calibrated probability, ties broken by the finer-grained raw score.
    ranked = relations.rank(
        scored, "risk_rank", ["churn_probability", "raw_probability"], stable_by=CUSTOMER
    )
    return relations.result(ranked, session, SCHEMA)
