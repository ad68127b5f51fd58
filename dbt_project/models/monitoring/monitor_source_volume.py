"""Rows per day of each source against the range learned from the same weekday before."""

import pandas as pd
import pyarrow as pa

from ml import relations
from ml.drift import daily_volume_bands
from monitoring.quality import VOLUME_K, VOLUME_MIN_ABSOLUTE, VOLUME_MIN_RELATIVE

SCHEMA = pa.schema(
    [
        ("source_table", pa.string()),
        ("day", pa.date32()),
        ("row_count", pa.float64()),
        ("expected_rows", pa.float64()),
        ("low_rows", pa.float64()),
        ("high_rows", pa.float64()),
        ("history_days", pa.int64()),
        ("status", pa.string()),
        ("time_window", pa.string()),
    ]
)


def model(dbt, session):
    dbt.config(materialized="table")
    daily = relations.to_pandas(dbt.ref("monitor_daily_volume"))
    settings = relations.to_pandas(dbt.ref("monitor_config"))
    config = settings.iloc[0]
    recent_start = pd.Timestamp(config["recent_start"])
    # The reference months are shown too, so the page can draw the band before the change.
    bands = daily_volume_bands(
        daily,
        check_from=pd.Timestamp(config["feature_reference_from"]),
        check_to=pd.Timestamp(config["as_of_date"]) - pd.Timedelta(days=1),
        history_weeks=int(config["volume_history_weeks"]),
        k=VOLUME_K,
        min_relative=VOLUME_MIN_RELATIVE,
        min_absolute=VOLUME_MIN_ABSOLUTE,
    )
    bands["time_window"] = ["recent" if day >= recent_start else "before" for day in bands["day"]]
    bands["day"] = pd.to_datetime(bands["day"]).dt.date
    return relations.result(
        pa.Table.from_pandas(bands, schema=SCHEMA, preserve_index=False), session
    )
