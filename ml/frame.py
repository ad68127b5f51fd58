"""Turn feature-mart rows into model matrices with stable column order and categories."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ml import relations
from ml.config import ModelConfig

SNAPSHOT = "snapshot_date"
LABEL = "churned_within_horizon"
CUSTOMER = "customer_id"
# The rows whose outcome is known: what models learn from and backtests score.
LABELED = f"{LABEL} is not null"


def model_columns(config: ModelConfig, extra: tuple[str, ...] = ()) -> list[str]:
    """The columns `model_frame` keeps: customer, snapshot, label, `extra`, then the features."""
    return list(dict.fromkeys([CUSTOMER, SNAPSHOT, LABEL, *extra, *config.features]))


def labeled_digests(
    snapshots: Any, config: ModelConfig, extra: tuple[str, ...] = ()
) -> dict[pd.Timestamp, str]:
    """Per snapshot month, a digest of the labeled rows `load_labeled` would read (in any
    order), computed on the engine (`relations.digests`): what a cache key holds of the data,
    known without bringing a row into this process.

    Numbers (the features and the `extra` columns, all numeric) are hashed as the float32 the
    model sees: a double the warehouse sums in parallel can differ in its last bits from one
    build to the next, which would change the digest of unchanged data and refit everything.
    """
    columns = _labeled_columns(snapshots, config, extra)
    numbers = set(config.numeric_features) | set(extra)
    rows = relations.select(
        snapshots, columns, where=LABELED, as_float=[c for c in columns if c in numbers]
    )
    found = relations.digests(rows, columns, SNAPSHOT)
    return {pd.Timestamp(month): digest for month, digest in sorted(found.items())}


def _labeled_columns(snapshots: Any, config: ModelConfig, extra: tuple[str, ...]) -> list[str]:
    present = set(relations.columns(snapshots))
    return [c for c in model_columns(config, extra) if c in present]


def load_labeled(snapshots: Any, config: ModelConfig, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """The labeled rows of a feature-mart ref (DuckDB or Spark), compact and in snapshot order.

    Only the columns `model_frame` keeps; numeric features (not `extra`) cast to FLOAT
    (float32) on the engine and text dictionary-encoded in Arrow, so pandas gets categories and
    float32 instead of one Python string per row and float64: at 1,000,000 accounts
    (13 million labeled rows) that is what keeps training within its memory budget.
    """
    columns = _labeled_columns(snapshots, config, extra)
    narrow = set(config.numeric_features) - set(extra)
    relation = relations.select(
        snapshots,
        columns,
        where=LABELED,
        order_by=SNAPSHOT,
        as_float=[c for c in columns if c in narrow],
        stable_by=CUSTOMER,
    )
    table = relations.to_arrow(relation)
    for index, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            table = table.set_column(index, field.name, pc.dictionary_encode(table[field.name]))
    frame = table.to_pandas(date_as_object=False)
    del table  # DuckDB's memory behind it is freed, and handed back by:
    relations.release(snapshots)
    return frame


def model_frame(
    frame: pd.DataFrame, config: ModelConfig, extra: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Only the columns training and backtests use, in compact types: float32, category, datetime.

    The feature mart arrives as float64, text and Python dates; slicing that frame month by
    month dominated the walk-forward backtest at 100,000 accounts (bench/README.md). Numeric
    features become float32 (what XGBoost uses anyway) unless also listed in `extra`, whose
    columns keep their type. Columns already in their compact type (`load_labeled`) are
    shared with `frame`, not copied.
    """
    columns = [c for c in model_columns(config, extra) if c in frame.columns]
    lean = frame[columns]
    if not pd.api.types.is_datetime64_any_dtype(lean[SNAPSHOT]):
        lean[SNAPSHOT] = pd.to_datetime(lean[SNAPSHOT])
    lean[LABEL] = lean[LABEL].astype("boolean")
    texts = [CUSTOMER, *config.categorical_features]
    for name in texts:
        if not isinstance(lean[name].dtype, pd.CategoricalDtype):
            text = lean[name].astype(str) if name == CUSTOMER else lean[name].astype("string")
            lean[name] = text.astype("category")
    for name in config.numeric_features:
        if name not in extra and lean[name].dtype != np.float32:
            lean[name] = pd.to_numeric(lean[name], errors="coerce").astype("float32")
    return lean


def learn_categories(frame: pd.DataFrame, config: ModelConfig) -> dict[str, list[str]]:
    """Categories seen in training, sorted; anything else is treated as missing at scoring."""
    return {name: _present_values(frame[name]) for name in config.categorical_features}


def _present_values(values: pd.Series) -> list[str]:
    """Distinct non-missing values as sorted text (fast for category columns)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = np.unique(values.cat.codes.to_numpy())
        return sorted(str(values.cat.categories[code]) for code in codes if code >= 0)
    return sorted(values.dropna().astype(str).unique().tolist())


def to_matrix(
    frame: pd.DataFrame, config: ModelConfig, categories: dict[str, list[str]]
) -> pd.DataFrame:
    """Feature matrix in model order; categoricals fixed to the training categories."""
    matrix = pd.DataFrame(index=frame.index)
    for name in config.numeric_features:
        matrix[name] = pd.to_numeric(frame[name], errors="coerce").astype("float32")
    for name in config.categorical_features:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):  # model_frame's text categories
            matrix[name] = column.cat.set_categories(categories[name])  # unseen -> missing
            continue
        values = column.astype("string").astype(object)
        known = values.where(values.isin(categories[name]))  # unseen -> missing
        matrix[name] = pd.Categorical(known, categories=categories[name])
    return matrix


def labels(frame: pd.DataFrame) -> np.ndarray:
    """The 0/1 churn label of labeled rows."""
    return frame[LABEL].astype(bool).to_numpy(dtype=int)


def matured_before(frame: pd.DataFrame, cutoff: pd.Timestamp, horizon_days: int) -> pd.DataFrame:
    """Labeled snapshots whose horizon ended by `cutoff`: all that was known on that day."""
    snapshot = pd.to_datetime(frame[SNAPSHOT])
    known = snapshot + pd.Timedelta(days=horizon_days) <= cutoff
    return frame[known & frame[LABEL].notna()]
