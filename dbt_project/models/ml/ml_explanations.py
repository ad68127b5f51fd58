"""SHAP contributions (log-odds) of every feature for the customers who need reasons.

Explained: everyone on a book of up to 10,000 customers; on a larger one, the riskiest and
largest expected losses at capacity (overall and per segment, plan and region) and a random
sample that global importance averages over (ml.explain).
"""

from functools import partial

import numpy as np

from ml import relations
from ml.config import load_settings
from ml.explain import EXPLANATION_SCHEMA as SCHEMA
from ml.explain import GROUP_COLUMNS, explain_frame, rows_to_explain
from ml.frame import CUSTOMER, SNAPSHOT
from ml.registry import from_record

READ_SCORES = [CUSTOMER, "churn_probability", "risk_rank"]
READ_CHOICE = [CUSTOMER, "customer_value", *GROUP_COLUMNS]


# Reads many rows into this process: one such model at a time (ml.relations).
@relations.one_at_a_time
def model(dbt, session):
    dbt.config(materialized="table")
    registry = relations.to_pandas(dbt.ref("ml_model_in_service"))
    fitted = from_record(registry.iloc[0].to_dict())
    options = relations.to_pandas(dbt.ref("ml_config"))
    predictions = relations.read(dbt.ref("ml_predictions"), READ_SCORES)
    # Only the newest snapshot is explained: filtered on the engine, not after loading every month.
    latest = relations.newest(dbt.ref("ml_features"), SNAPSHOT, stable_by=CUSTOMER)
    # Who to explain needs a few columns of every customer; the SHAP values, every feature of
    # the chosen ones (computed where they are: per partition on Spark).
    present = set(relations.columns(latest))
    who = relations.read(latest, [c for c in READ_CHOICE if c in present], stable_by=CUSTOMER)
    scored = who[[CUSTOMER]].merge(predictions, on=CUSTOMER, how="left")
    explain, sample = rows_to_explain(
        who,
        scored["churn_probability"].to_numpy(dtype=float),
        scored["risk_rank"].to_numpy(dtype=np.int64),
        capacity_k=load_settings(options).capacity_k,
        seed=fitted.config.seed,
    )
    chosen = relations.keep(latest, CUSTOMER, None if explain.all() else who[CUSTOMER][explain])
    sampled = frozenset(who[CUSTOMER][sample].astype(str))
    explained = relations.map_frames(chosen, partial(explain_frame, fitted, sampled), SCHEMA)
    return relations.result(explained, session, SCHEMA)
