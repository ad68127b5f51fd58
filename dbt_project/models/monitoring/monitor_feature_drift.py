"""Drift of every model feature and of the scores: PSI, Jensen-Shannon and learned limits.

Also whether each drift counts toward the verdict: features accumulated "to date" (column
meta `drift: to_date`) count only once the data covers a year before the reference months.
"""

import pyarrow as pa

from ml import relations
from ml.drift import drift_table
from monitoring.drift import DRIFT_FACTOR, JS_FLOOR, PSI_FLOOR, TO_DATE, count_toward_verdict

SCHEMA = pa.schema(
    [
        ("feature", pa.string()),
        ("kind", pa.string()),
        ("psi", pa.float64()),
        ("js_distance", pa.float64()),
        ("psi_limit", pa.float64()),
        ("js_limit", pa.float64()),
        ("severity", pa.float64()),
        ("drifted", pa.bool_()),
        ("counted", pa.bool_()),
        ("note", pa.string()),
        ("n_reference", pa.int64()),
        ("n_current", pa.int64()),
        ("reference_periods", pa.int64()),
    ]
)


def model(dbt, session):
    dbt.config(materialized="table")
    profiles = relations.to_pandas(dbt.ref("monitor_feature_profiles"))
    settings = relations.to_pandas(dbt.ref("monitor_config"))
    dictionary = relations.to_pandas(dbt.ref("feature_dictionary"))
    drift = drift_table(profiles, factor=DRIFT_FACTOR, psi_floor=PSI_FLOOR, js_floor=JS_FLOOR)
    to_date = dictionary.loc[dictionary["drift"] == TO_DATE, "feature"].tolist()
    drift = count_toward_verdict(drift, to_date, int(settings["history_months"].iloc[0]))
    return relations.result(
        pa.Table.from_pandas(drift[SCHEMA.names], schema=SCHEMA, preserve_index=False), session
    )
