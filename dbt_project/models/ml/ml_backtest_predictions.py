"""Walk-forward scores of the model and its baselines for every backtest month.

Months whose history, scored rows, config and code are unchanged since an earlier build
are read back from the build's ML cache instead of refitted (ml.backtest, ml.cache). On
Spark each month is fitted and scored where the rows are (ml.distributed_backtest).
"""

from ml import relations
from ml.backtest import PREDICTIONS_SCHEMA, backtest_table
from ml.cache import folder
from ml.config import load_settings, model_config


# Reads many rows into this process: one such model at a time (ml.relations).
@relations.one_at_a_time
def model(dbt, session):
    dbt.config(materialized="table")
    snapshots = dbt.ref("ml_features")
    options = relations.to_pandas(dbt.ref("ml_config"))
    dictionary = relations.to_pandas(dbt.ref("feature_dictionary"))
    build = relations.to_pandas(dbt.source("context", "build")).iloc[0]
    config = model_config(load_settings(options), dictionary.to_dict("records"))
    cache = folder(build["ml_cache_dir"], "backtest")
    predictions = backtest_table(snapshots, config, cache)
    return relations.result(predictions, session, PREDICTIONS_SCHEMA)
