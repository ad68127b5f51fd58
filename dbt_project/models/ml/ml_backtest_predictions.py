"""Walk-forward scores of the model and its baselines for every backtest month."""

import pyarrow as pa

from ml.backtest import walk_forward
from ml.config import from_dbt

SCHEMA = pa.schema(
    [
        ("scoring_month", pa.date32()),
        ("method", pa.string()),
        ("customer_id", pa.string()),
        ("score", pa.float64()),
        ("probability", pa.float64()),
        ("churned", pa.bool_()),
        ("mrr", pa.float64()),
        ("n_train", pa.int64()),
    ]
)


def model(dbt, session):
    dbt.config(materialized="table")
    snapshots = dbt.ref("customer_snapshots").df()
    options = dbt.ref("ml_config").df()
    dictionary = dbt.ref("feature_dictionary").df()
    config = from_dbt(options.iloc[0].to_dict(), dictionary.to_dict("records"))
    predictions = walk_forward(snapshots, config)
    if predictions.empty:
        return pa.Table.from_pylist([], schema=SCHEMA)
    predictions["scoring_month"] = predictions["scoring_month"].dt.date
    predictions["churned"] = predictions["churned"].astype(bool)
    return pa.Table.from_pandas(predictions, schema=SCHEMA, preserve_index=False)
