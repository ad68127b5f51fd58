"""Walk-forward scores of the model and its baselines for every backtest month.

Months whose history, scored rows, config and code are unchanged since an earlier build
are read back from the build's ML cache instead of refitted (ml.backtest, ml.cache).
"""

import pyarrow as pa

from ml import relations
from ml.backtest import EXTRA_COLUMNS, walk_forward
from ml.cache import folder
from ml.config import load_settings, model_config
from ml.frame import load_labeled

SCHEMA = pa.schema(
    [
        ("scoring_month", pa.date32()),
        ("method", pa.string()),
        ("customer_id", pa.string()),
        ("score", pa.float64()),
        ("probability", pa.float64()),
        ("churned", pa.bool_()),
        ("value", pa.float64()),
        ("n_train", pa.int64()),
        ("settings", pa.string()),
    ]
)


def model(dbt, session):
    dbt.config(materialized="table")
    snapshots = dbt.ref("ml_features")
    options = relations.to_pandas(dbt.ref("ml_config"))
    dictionary = relations.to_pandas(dbt.ref("feature_dictionary"))
    build = relations.to_pandas(dbt.source("context", "build")).iloc[0]
    config = model_config(load_settings(options), dictionary.to_dict("records"))
    # Only labeled rows and the columns the backtest reads, compact (ml.frame.load_labeled).
    labeled = load_labeled(snapshots, config, EXTRA_COLUMNS)
    predictions = walk_forward(labeled, config, cache=folder(build["ml_cache_dir"], "backtest"))
    if predictions.empty:
        return relations.result(pa.Table.from_pylist([], schema=SCHEMA), session)
    predictions["scoring_month"] = predictions["scoring_month"].dt.date
    predictions["churned"] = predictions["churned"].astype(bool)
    return relations.result(
        pa.Table.from_pandas(predictions, schema=SCHEMA, preserve_index=False), session
    )
