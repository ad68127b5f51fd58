"""This build's candidate model: fitted on every matured snapshot, or reused if unchanged."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ml import cache as ml_cache
from ml import distributed, relations
from ml.config import ModelConfig
from ml.frame import labeled_digests, load_labeled, model_frame
from ml.registry import to_record
from ml.train import fit_churn_model

# The code a candidate depends on (ml.cache.FITTING_CODE, the registry's record and this
# module; on Spark also its distributed fit): a change to any of it refits.
CODE_VERSION = ml_cache.code_version("ml.registry", __name__)
SPARK_CODE_VERSION = ml_cache.code_version("ml.registry", __name__, "ml.distributed")
# Candidates kept besides the one a build uses (a rollback to the code or data before).
SPARE = 4


def fit_candidate(
    snapshots: Any,
    config: ModelConfig,
    trained_at: datetime,
    build_id: str,
    cache: Path | None = None,
) -> dict[str, Any]:
    """The candidate's registry record from the feature mart (a dbt ref) of either engine,
    reused from `cache` when the labeled rows (in any order), config, code and libraries are
    unchanged; the reused record keeps its version and training time, since it is the same
    model, and names this build as the one that produced it.

    The rows are fingerprinted where they are (`labeled_digests`), so a reused
    candidate never brings them into this process: a daily rebuild of 1,000,000 accounts
    skips reading 13 million rows. A fit reads them compact into this process on DuckDB
    (`load_labeled`) and boosts where they are on Spark (ml.distributed).
    """
    spark = relations.is_spark(snapshots)
    fingerprint = labeled_fingerprint(snapshots, config)
    code = SPARK_CODE_VERSION if spark else CODE_VERSION
    name = ml_cache.key(code, ml_cache.config_text(config), fingerprint)

    def fit() -> dict[str, Any]:
        if spark:
            model = distributed.fit_churn_model(snapshots, config)
        else:
            model = fit_churn_model(model_frame(load_labeled(snapshots, config), config), config)
        return to_record(model, trained_at, fingerprint, build_id)

    return {**_reused_or_fitted(cache, name, fit), "build_id": build_id}


def labeled_fingerprint(snapshots: Any, config: ModelConfig) -> str:
    """A short hash of the feature mart's labeled rows (the model's columns), in any order,
    computed on the engine (`labeled_digests`)."""
    months = labeled_digests(snapshots, config)
    return ml_cache.key(*(f"{month:%Y-%m-%d} {digest}" for month, digest in months.items()))[:16]


def _reused_or_fitted(
    cache: Path | None, name: str, fit: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """The record stored under `name`, or `fit()`'s, then stored; older entries pruned."""
    stored = ml_cache.load(cache, name)
    if stored is not None and len(stored) == 1:
        record = {str(column): value for column, value in stored.iloc[0].items()}
    else:
        record = fit()
        ml_cache.save(cache, name, pd.DataFrame([record]))
    ml_cache.prune(cache, [name], spare=SPARE)
    return record
