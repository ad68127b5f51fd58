"""Churn scores of feature rows: the function scoring applies to every customer, or to every
partition of them on Spark (ml.relations.map_frames)."""

from __future__ import annotations

import pandas as pd

from ml.frame import CUSTOMER, SNAPSHOT
from ml.train import ChurnModel


def score_frame(model: ChurnModel, model_version: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Calibrated and raw churn probabilities of each row, with the model's version.

    Row by row, so any split of the rows gives the same scores; the rank, which needs every
    row, is added afterwards (ml.relations.rank).
    """
    raw = model.raw_probability(frame)
    return pd.DataFrame(
        {
            CUSTOMER: frame[CUSTOMER].to_numpy(),
            SNAPSHOT: frame[SNAPSHOT].to_numpy(),
            "churn_probability": model.calibrator.transform(raw),
            "raw_probability": raw,
            "model_version": model_version,
        }
    )
