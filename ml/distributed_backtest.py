"""The walk-forward backtest on Spark: ml.backtest's months, fitted and scored where the rows are.

ml.backtest.walk_forward holds every labeled row in one process. Here each scoring month is
fitted on Spark: the model by ml.distributed (the candidate's path: split, sampling and
boosting per partition) on the months known then, the logistic baseline in the driver on a
bounded sample of those months (ml.distributed.logistic_sample), and the month's rows are
scored per partition by ml.backtest.method_scores, the function the DuckDB engine applies to
the whole month, MONTHS_AT_ONCE months at a time as on DuckDB. The result is a lazy Spark
DataFrame: nothing but a row of aggregates per month (outcome counts, the recency ceiling,
whether BG/NBD scores exist), ml.distributed's and the logistic sample reach the driver.

With no month to walk forward to (one export of a customer file, or history shorter than a
horizon), the newest month is checked on held-out customers as on DuckDB: the folds of
ml.backtest.customer_folds (the same function, per partition, so the same customers), each
scored by models fitted on Spark without its customers (`_held_out`).

With a cache folder, as on DuckDB, a month whose history, scored rows, config and code are
unchanged since an earlier build is read back instead of refitted: its key holds per-month
digests of the labeled rows (a count and a sum of row hashes, computed where the rows are,
in the same pass as the month facts), and each month's scores are written by Spark as a
Parquet folder there, then read back (the table's write reads the files, not the fit). On a
cluster the cache folder must be one the workers can write (a shared or object-store path).

Spark is imported only when a function here runs (the DuckDB engine never imports it).
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from ml import cache as ml_cache
from ml import distributed, relations
from ml.backtest import (
    BG_NBD_SCORE,
    EXTRA_COLUMNS,
    HELD_OUT_FOLDS,
    MONTHS_AT_ONCE,
    PREDICTIONS_SCHEMA,
    customer_folds,
    method_scores,
    scoring_months,
)
from ml.baselines import RECENCY_FEATURE, fit_logistic, recency_ceiling
from ml.config import ModelConfig
from ml.frame import CUSTOMER, LABEL, SNAPSHOT, matured_before, model_columns
from ml.train import ChurnModel

# The column of ml.backtest.customer_folds' fold, while the held-out check runs.
FOLD = "_baton_fold"
# The code a month's scores depend on here (ml.cache.FITTING_CODE, the DuckDB backtest whose
# functions score the rows, the distributed fit and this module): a change refits every month.
CODE_VERSION = ml_cache.code_version("ml.backtest", "ml.distributed", __name__)


def walk_forward(snapshots: Any, config: ModelConfig, cache: Path | None = None) -> Any:
    """ml.backtest.walk_forward for a feature-mart Spark DataFrame: a Spark DataFrame of
    PREDICTIONS_SCHEMA rows (see the module), months unchanged since a build that used the
    `cache` folder read back from it."""
    from pyspark.sql import functions as F

    spark = snapshots.sparkSession
    # Every month's history and scored rows read these rows: read (and cast) once.
    labeled = _labeled(snapshots, config).cache()
    used: list[str] = []
    try:
        months = _months(labeled)
        per_month = pd.DataFrame({SNAPSHOT: months.index, LABEL: True})
        digests = dict(zip(months.index, months["digest"].astype(str), strict=True))

        def month_key(known: list[pd.Timestamp], month: pd.Timestamp) -> str:
            return ml_cache.key(
                CODE_VERSION,
                ml_cache.config_text(config),
                *(f"history {m:%Y-%m-%d} {digests[m]}" for m in known),
                f"scored {month:%Y-%m-%d} {digests[month]}",
            )

        def one_month(month: pd.Timestamp) -> Any:
            known = list(matured_before(per_month, month, config.horizon_days)[SNAPSHOT])
            name = month_key(known, month)
            stored = _stored(spark, cache, name)
            if stored is not None:
                return name, stored
            history = labeled.where(F.col(SNAPSHOT).isin([m.date() for m in known]))
            target = labeled.where(F.col(SNAPSHOT) == F.lit(month.date()))
            churned, stayed = (int(months.loc[known, c].sum()) for c in ("churned", "stayed"))
            outcomes = (churned, stayed)
            part = _score_month(history, target, config, month, known, outcomes, months)
            return name, None if part is None else _store(spark, cache, name, part)

        # Months are independent, and most of a month's time is Spark scheduling small jobs
        # one after another: submit MONTHS_AT_ONCE months' jobs at a time, as the DuckDB
        # engine fits them (Spark runs concurrent jobs of one session side by side).
        to_score = scoring_months(per_month, config)
        with ThreadPoolExecutor(MONTHS_AT_ONCE) as pool:
            scored = list(pool.map(one_month, to_score))
        parts = [part for _, part in scored if part is not None]
        used = [name for name, part in scored if part is not None]
        if not to_score and config.backtest_months > 0 and len(months):
            # Nothing to walk forward to: check the newest month on customers held out instead.
            name = "held-out-" + month_key(list(months.index), months.index[-1])
            stored = _stored(spark, cache, name)
            if stored is None:
                folds = _held_out(labeled, config, months)
                stored = _store(spark, cache, name, _union(folds)) if folds else None
            parts, used = ([stored], [name]) if stored is not None else ([], [])
    finally:
        labeled.unpersist()
    ml_cache.prune(cache, used, spare=2 * max(len(used), config.backtest_months))
    if not parts:
        return spark.createDataFrame(PREDICTIONS_SCHEMA.empty_table())
    return _union(parts)


def _union(parts: list[Any]) -> Any:
    """The rows of every Spark DataFrame of `parts` (one schema), as one."""
    result = parts[0]
    for part in parts[1:]:
        result = result.unionByName(part)
    return result


def _stored(spark: Any, cache: Path | None, name: str) -> Any:
    """The scores stored under `name` (a Parquet folder Spark wrote), read lazily, or None;
    marks them as used (ml.cache.prune keeps the recently used)."""
    if cache is None:
        return None
    path = cache / f"{name}.parquet"
    if not (path / "_SUCCESS").exists():
        return None
    from pyspark.sql.pandas.types import from_arrow_schema

    os.utime(path)
    return spark.read.schema(from_arrow_schema(PREDICTIONS_SCHEMA)).parquet(str(path))


def _store(spark: Any, cache: Path | None, name: str, scores: Any) -> Any:
    """Write lazy `scores` under `name` (Spark, where the rows are; a temporary folder renamed
    into place once complete) and return them read back; without a cache, `scores`."""
    if cache is None:
        return scores
    cache.mkdir(parents=True, exist_ok=True)
    temporary = cache / f".{name}.{os.getpid()}.tmp"
    scores.write.mode("overwrite").parquet(str(temporary))
    target = cache / f"{name}.parquet"
    shutil.rmtree(target, ignore_errors=True)
    temporary.replace(target)
    return _stored(spark, cache, name)


def _labeled(snapshots: Any, config: ModelConfig) -> Any:
    """The labeled rows and the columns the backtest reads, numeric features as FLOAT (the
    float32 that ml.frame.load_labeled gives the DuckDB engine's backtest)."""
    from pyspark.sql import functions as F

    present = set(snapshots.columns)
    columns = [c for c in model_columns(config, EXTRA_COLUMNS) if c in present]
    narrow = set(config.numeric_features) - set(EXTRA_COLUMNS)
    return snapshots.where(F.col(LABEL).isNotNull()).select(
        *[F.col(c).cast("float").alias(c) if c in narrow else F.col(c) for c in columns]
    )


def _outcome_counts() -> list[Any]:
    """The churners and stayers of a group of labeled rows, as two Spark aggregates."""
    from pyspark.sql import functions as F

    churned = F.col(LABEL).cast("boolean")
    return [
        F.count(F.when(churned, 1)).alias("churned"),
        F.count(F.when(~churned, 1)).alias("stayed"),
    ]


def _months(labeled: Any) -> pd.DataFrame:
    """Per labeled month, in one pass: its churners and stayers (a history's outcome counts
    are their sums), its largest recency and whether it has BG/NBD scores (the two month-wide
    facts method_scores needs), and a digest of its rows (the cache key's), indexed by the
    month, sorted."""
    from pyspark.sql import functions as F

    bg_nbd = F.count(BG_NBD_SCORE) if BG_NBD_SCORE in labeled.columns else F.lit(0)
    rows = (
        labeled.groupBy(SNAPSHOT)
        .agg(
            *_outcome_counts(),
            F.max(F.col(RECENCY_FEATURE).cast("double")).alias("most"),
            bg_nbd.alias("bg_nbd"),
            # Numbers as float32, as ml.frame.labeled_digests hashes them on DuckDB (the
            # features already are): parallel sums change a double's last bits between builds.
            *distributed.digest(
                [F.col(c).cast("float") if c in EXTRA_COLUMNS else c for c in labeled.columns]
            ),
        )
        .collect()
    )
    columns = [SNAPSHOT, "churned", "stayed", "most", "bg_nbd", "n", "hashes"]
    frame = pd.DataFrame([row.asDict() for row in rows], columns=columns)
    frame[SNAPSHOT] = pd.to_datetime(frame[SNAPSHOT])
    # The month's rows in any order, in a few words: the cache key's part for the month.
    frame["digest"] = frame["n"].astype(str) + " " + frame["hashes"].astype(str)
    return frame.set_index(SNAPSHOT).sort_index()


def _score_month(
    history: Any,
    target: Any,
    config: ModelConfig,
    month: pd.Timestamp,
    known: list[pd.Timestamp],
    outcomes: tuple[int, int],
    months: pd.DataFrame,
    held_out: bool = False,
) -> Any:
    """One month's scores of every method (lazy), or None when its history holds one outcome
    only (ml.train.OneOutcomeError's case, which the DuckDB engine skips too). `known`: the
    history's months; `outcomes`: its (churners, stayers); `months`: _months' facts;
    `held_out`: `target`'s customers are not in `history` (the held-out check)."""
    churned, stayed = outcomes
    if not churned or not stayed:
        return None
    model = distributed.fit_churn_model(history, config, sorted(known))
    logistic = fit_logistic(distributed.logistic_sample(history, config, churned + stayed), config)
    facts = months.loc[month]
    ceiling = recency_ceiling(np.array([facts["most"]], dtype=float))  # None: NaN
    score = partial(
        _scores, model, logistic, config, month, ceiling, bool(facts["bg_nbd"]), held_out
    )
    return relations.map_frames(target, score, PREDICTIONS_SCHEMA)


def _held_out(labeled: Any, config: ModelConfig, months: pd.DataFrame) -> list[Any]:
    """ml.backtest.held_out_scores on Spark: the newest month's customers, fold by fold, each
    scored by models fitted on the rows (that month and before) of the other folds' customers;
    no parts when a fold's training rows hold one outcome only (as on DuckDB)."""
    from pyspark.sql import functions as F

    month = months.index[-1]
    known = list(months.index)

    @F.pandas_udf("int")  # type: ignore[call-overload]
    def fold_of(customers: pd.Series) -> pd.Series:
        return pd.Series(customer_folds(customers), index=customers.index)

    rows = labeled.withColumn(FOLD, fold_of(F.col(CUSTOMER).cast("string"))).cache()
    try:
        counts = {
            row[FOLD]: (row["churned"], row["stayed"])
            for row in rows.groupBy(FOLD).agg(*_outcome_counts()).collect()
        }
        total = (sum(c for c, _ in counts.values()), sum(s for _, s in counts.values()))
        # Each fold's history: every fold's rows but its own.
        outcomes = [
            (total[0] - counts.get(k, (0, 0))[0], total[1] - counts.get(k, (0, 0))[1])
            for k in range(HELD_OUT_FOLDS)
        ]
        if any(not churned or not stayed for churned, stayed in outcomes):
            return []

        def one_fold(k: int) -> Any:
            target = rows.where((F.col(FOLD) == k) & (F.col(SNAPSHOT) == F.lit(month.date())))
            history = rows.where(F.col(FOLD) != k).drop(FOLD)
            return _score_month(
                history, target.drop(FOLD), config, month, known, outcomes[k], months, True
            )

        # Lazy scores, as every month's (walk_forward), fitted MONTHS_AT_ONCE folds at a time.
        with ThreadPoolExecutor(MONTHS_AT_ONCE) as pool:
            return list(pool.map(one_fold, range(HELD_OUT_FOLDS)))
    finally:
        rows.unpersist()


def _scores(
    model: ChurnModel,
    logistic: Pipeline,
    config: ModelConfig,
    month: pd.Timestamp,
    ceiling: float,
    bg_nbd: bool,
    held_out: bool,
    frame: pd.DataFrame,
) -> pd.DataFrame:
    """Per partition: the month's rows scored by every method, in PREDICTIONS_SCHEMA's form."""
    if frame.empty:
        return PREDICTIONS_SCHEMA.empty_table().to_pandas()
    scored = method_scores(model, logistic, frame, config, ceiling, bg_nbd)
    scored["scoring_month"] = month.date()
    scored["churned"] = scored["churned"].astype(bool)
    scored["held_out"] = held_out
    return scored[PREDICTIONS_SCHEMA.names]
