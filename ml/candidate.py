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
from ml.frame import SNAPSHOT, load_labeled, model_frame
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
    """The candidate's registry record from the feature mart (a dbt ref) of either engine.

    DuckDB: the labeled rows, compact, in this process (`candidate_record`). Spark: fitted
    where the rows are (ml.distributed). Either reuses the candidate from `cache` when the
    labeled rows, config, code and libraries are unchanged (on Spark the rows' fingerprint is
    per-month sums of row hashes computed where the rows are).
    """
    if relations.is_spark(snapshots):
        fingerprint = distributed.data_fingerprint(snapshots, config)
        name = ml_cache.key(SPARK_CODE_VERSION, ml_cache.config_text(config), fingerprint)
        record = _reused_or_fitted(
            cache,
            name,
            lambda: to_record(
                distributed.fit_churn_model(snapshots, config), trained_at, fingerprint, build_id
            ),
        )
        return {**record, "build_id": build_id}
    return candidate_record(load_labeled(snapshots, config), config, trained_at, build_id, cache)


def candidate_record(
    labeled: pd.DataFrame,
    config: ModelConfig,
    trained_at: datetime,
    build_id: str,
    cache: Path | None = None,
) -> dict[str, Any]:
    """The registry record of a model fitted on `labeled`, reused from `cache` if identical.

    Identical means the same training rows (in any order), config, code and library
    versions; the reused record keeps its version and training time, since it is the same
    model, and names this build as the one that produced it.
    """
    lean = model_frame(labeled, config)
    digests = ml_cache.digests_by_month(lean, SNAPSHOT)
    fingerprint = ml_cache.key(*(f"{m:%Y-%m-%d} {d}" for m, d in sorted(digests.items())))
    name = ml_cache.key(CODE_VERSION, ml_cache.config_text(config), fingerprint)
    record = _reused_or_fitted(
        cache,
        name,
        lambda: to_record(fit_churn_model(lean, config), trained_at, fingerprint[:16], build_id),
    )
    return {**record, "build_id": build_id}


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
