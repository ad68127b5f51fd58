"""Binned distributions of every model feature and of the model's scores, per snapshot month.

The reference months (features that predate the recent window) and the newest snapshot,
scored by the model in service, so score drift reflects the inputs, not a model change.
"""

import pandas as pd
import pyarrow as pa

from ml import relations
from ml.registry import from_record
from monitoring.drift import model_profiles
from monitoring.windows import windows_from_config

SCHEMA = pa.schema(
    [
        ("feature", pa.string()),
        ("kind", pa.string()),
        ("period", pa.date32()),
        ("time_window", pa.string()),
        ("bin_order", pa.int64()),
        ("bin_label", pa.string()),
        ("rows", pa.int64()),
    ]
)


# Reads many rows into this process: one such model at a time (ml.relations).
@relations.one_at_a_time
def model(dbt, session):
    dbt.config(materialized="table")
    settings = relations.to_pandas(dbt.ref("monitor_config"))
    service = relations.to_pandas(dbt.ref("ml_model_in_service"))
    windows = windows_from_config(settings.iloc[0].to_dict())
    fitted = from_record(service.iloc[0].to_dict())
    snapshots = dbt.ref("customer_snapshots")
    profiles = model_profiles(snapshots, fitted, windows)
    profiles["period"] = pd.to_datetime(profiles["period"]).dt.date
    return relations.result(
        pa.Table.from_pandas(profiles, schema=SCHEMA, preserve_index=False), session
    )
