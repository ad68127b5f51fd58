"""Bare-compute floor of one rebuild: the same ML and monitor work as the build, with no dbt.

Every step calls what the build's Python models call, on the same rows: dbt's compiled SQL
of the feature mart (and of the two SQL models the monitors read); the walk-forward backtest
(`ml.backtest.walk_forward`: every backtest month's XGBoost fit with its logistic and recency
baselines) and its metrics; the candidate (`candidate_fit`: `ml.candidate`'s fingerprint, fit
and record); scoring every
customer of the newest snapshot; SHAP for the rows the build explains; and the monitors'
statistics (feature profiles, drift, performance, source volume). The ML cache is off: every
fit is computed. So rebuild / floor, stage by stage, is the cost of dbt, tests and the app's
tables around the same work (bench/README.md lists what the floor leaves out).

Run as `python -m bench.floor BATON_HOME` after a build; prints one JSON object.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import xgboost as xgb

from ml import relations
from ml.backtest import EXTRA_COLUMNS, monthly_metrics, walk_forward
from ml.candidate import labeled_fingerprint
from ml.config import ModelConfig, load_settings, model_config
from ml.drift import (
    daily_volume_bands,
    drift_table,
    expected_performance,
)
from ml.explain import (
    EXPLANATION_SCHEMA,
    GROUP_COLUMNS,
    contributions,
    explain_frame,
    rows_to_explain,
)
from ml.frame import CUSTOMER, SNAPSHOT, load_labeled, model_frame, to_matrix
from ml.registry import from_record, to_record
from ml.scoring import score_frame
from ml.train import ChurnModel, fit_churn_model
from monitoring.drift import (
    DRIFT_FACTOR,
    JS_FLOOR,
    PSI_FLOOR,
    TO_DATE,
    count_toward_verdict,
    model_profiles,
)
from monitoring.performance import performance_table
from monitoring.quality import VOLUME_K, VOLUME_MIN_ABSOLUTE, VOLUME_MIN_RELATIVE
from monitoring.windows import windows_from_config
from pipeline import warehouse
from pipeline.build.context import CONTEXT_TABLES
from pipeline.settings import Settings, duckdb_memory_limit

FEATURE_MART = "customer_snapshots"
# SQL models the monitors' Python statistics read (besides the feature mart and ML outputs).
MONITOR_SQL = ("monitor_config", "monitor_daily_volume")
# Each floor stage, and the rebuild stage (bench/stages.py) doing the same work in dbt.
REBUILD_STAGE = {
    "features_sql": "sql_models",
    "backtest_load": "backtest",
    "backtest": "backtest",
    "backtest_metrics": "backtest",
    "load": "training",
    "train": "training",
    "predict": "scoring",
    "explain": "explanations",
    "monitor_sql": "monitors",
    "monitors": "monitors",
}
EXTRA_STAGES = ("train_1_thread", "shap_package")  # comparisons, not part of the floor
SCORES = pa.schema(
    [
        (CUSTOMER, pa.string()),
        (SNAPSHOT, pa.date32()),
        ("churn_probability", pa.float64()),
        ("raw_probability", pa.float64()),
        ("model_version", pa.string()),
    ]
)
T = TypeVar("T")


def feature_models(
    manifest: dict[str, Any], target: str = FEATURE_MART, done: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The models `target` is built from, and `target` itself, in dependency order; models
    named in `done` (built already) and their parents are left out."""
    nodes = manifest["nodes"]
    project = manifest["metadata"]["project_name"]
    ordered: list[dict[str, Any]] = []
    seen: set[str] = set()
    for name in done:
        seen.add(f"model.{project}.{name}")
        seen.update(_ancestors(nodes, f"model.{project}.{name}"))

    def visit(unique_id: str) -> None:
        if unique_id in seen or not unique_id.startswith("model."):
            return
        seen.add(unique_id)
        for parent in nodes[unique_id]["depends_on"]["nodes"]:
            visit(parent)
        ordered.append(nodes[unique_id])

    visit(f"model.{project}.{target}")
    return ordered


def _ancestors(nodes: Mapping[str, Any], unique_id: str) -> set[str]:
    found: set[str] = set()
    todo = list(nodes.get(unique_id, {}).get("depends_on", {}).get("nodes", []))
    while todo:
        parent = todo.pop()
        if parent not in found:
            found.add(parent)
            todo += nodes.get(parent, {}).get("depends_on", {}).get("nodes", [])
    return found


def open_floor_db(settings: Settings, folder: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB file whose catalog is `warehouse`, with the raw data attached as `raw`."""
    # Compiled SQL names relations "warehouse"."main"."...": the build file is warehouse.duckdb.
    # The build's DuckDB memory limit and ordering (dbt_project/profiles.yml), so the floor
    # does the same work in the same memory.
    connection = duckdb.connect(
        str(folder / "warehouse.duckdb"),
        config={
            "memory_limit": duckdb_memory_limit(),
            "temp_directory": str(folder / "tmp"),
            "preserve_insertion_order": False,
        },
    )
    connection.execute("attach ? as raw (read_only)", [str(settings.raw_path)])
    # The build's context as a full refresh sees it: no incremental plan (int_recompute_from).
    connection.execute("attach ':memory:' as context")
    connection.execute(f"create table context.incremental ({CONTEXT_TABLES['incremental']})")
    return connection


def run_models(
    connection: duckdb.DuckDBPyConnection,
    manifest: dict[str, Any],
    targets: Sequence[str],
    done: Sequence[str] = (),
) -> list[str]:
    """Run dbt's compiled SQL of `targets` and every model they need but `done`; their names."""
    built: list[str] = []
    for target in targets:
        for node in feature_models(manifest, target, [*done, *built]):
            if node.get("language") == "python":
                run_python_model(connection, node)
            else:
                kind = "view" if node["config"]["materialized"] == "view" else "table"
                connection.execute(f'create {kind} "{node["name"]}" as {node["compiled_code"]}')
            built.append(node["name"])
    return built


class _Refs:
    """What a Python model's `dbt` argument gives it here: refs as relations of `connection`."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection

    # Every model computes every snapshot month here, as on a full refresh.
    is_incremental = False

    def config(self, **_: Any) -> None:
        """Materialization settings: every model is a table here."""

    def ref(self, name: str) -> duckdb.DuckDBPyRelation:
        """The model built before this one (the feature mart's Python models read only refs)."""
        return self.connection.table(name)


def run_python_model(connection: duckdb.DuckDBPyConnection, node: Mapping[str, Any]) -> None:
    """A dbt Python model's own `model(dbt, session)`, called without dbt; its table stored."""
    namespace: dict[str, Any] = {}
    exec(compile(node["raw_code"], node["original_file_path"], "exec"), namespace)
    table = namespace["model"](_Refs(connection), connection)
    connection.register("floor_result", table)
    connection.execute(f'create table "{node["name"]}" as select * from floor_result')
    connection.unregister("floor_result")


def peak_mib() -> float:
    """Peak RSS of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(stages: dict[str, dict[str, float]], name: str, work: Callable[..., T], *args: Any) -> T:
    """Run `work(*args)`, recording its seconds and this process's peak MiB so far as `name`."""
    started = time.perf_counter()
    result = work(*args)
    stages[name] = {"seconds": time.perf_counter() - started, "peak_mib": peak_mib()}
    return result


def candidate_fit(mart: Any, labeled: pd.DataFrame, config: ModelConfig) -> dict[str, Any]:
    """ml_model_candidate's work once its rows are read: their fingerprint on the engine (its
    cache key), the fit and the registry record."""
    fingerprint = labeled_fingerprint(mart, config)
    model = fit_churn_model(model_frame(labeled, config), config)
    return to_record(model, datetime.now(UTC), fingerprint, "floor")


def score(mart: Any, record: dict[str, Any]) -> tuple[ChurnModel, pa.Table]:
    """`ml_predictions`: the model from its record scores the newest snapshot, ranked."""
    fitted = from_record(record)
    latest = relations.newest(mart, SNAPSHOT, stable_by=CUSTOMER)
    scored = relations.map_frames(
        latest, partial(score_frame, fitted, record["model_version"]), SCORES
    )
    ranked = relations.rank(
        scored, "risk_rank", ["churn_probability", "raw_probability"], stable_by=CUSTOMER
    )
    return fitted, ranked


def explain(
    mart: Any, fitted: ChurnModel, ranked: pa.Table, capacity_k: int
) -> tuple[pd.DataFrame, pa.Table]:
    """`ml_explanations`: SHAP rows of the customers who need reasons; and those customers."""
    predictions = ranked.select([CUSTOMER, "churn_probability", "risk_rank"]).to_pandas()
    latest = relations.newest(mart, SNAPSHOT, stable_by=CUSTOMER)
    present = set(relations.columns(latest))
    choice = [c for c in [CUSTOMER, "customer_value", *GROUP_COLUMNS] if c in present]
    who = relations.read(latest, choice, stable_by=CUSTOMER)
    scored = who[[CUSTOMER]].merge(predictions, on=CUSTOMER, how="left")
    chosen_rows, sample = rows_to_explain(
        who,
        scored["churn_probability"].to_numpy(dtype=float),
        scored["risk_rank"].to_numpy(dtype=np.int64),
        capacity_k=capacity_k,
        seed=fitted.config.seed,
    )
    keep = None if chosen_rows.all() else who[CUSTOMER][chosen_rows]
    chosen = relations.keep(latest, CUSTOMER, keep)
    sampled = frozenset(who[CUSTOMER][sample].astype(str))
    explained = relations.map_frames(
        chosen, partial(explain_frame, fitted, sampled), EXPLANATION_SCHEMA
    )
    return chosen, explained


def monitors(
    connection: duckdb.DuckDBPyConnection,
    fitted: ChurnModel,
    ranked: pa.Table,
    metrics: pd.DataFrame,
    dictionary: pd.DataFrame,
    capacity_k: int,
) -> dict[str, int]:
    """The monitors' Python statistics: feature profiles and drift, performance, source volume.

    The same calls as monitor_feature_profiles, monitor_feature_drift, monitor_performance and
    monitor_source_volume; the rows each gives.
    """
    config = connection.table("monitor_config").df()
    windows = windows_from_config(config.iloc[0].to_dict())
    mart = connection.table(FEATURE_MART)
    profiles = model_profiles(mart, fitted, windows)
    drift = drift_table(profiles, factor=DRIFT_FACTOR, psi_floor=PSI_FLOOR, js_floor=JS_FLOOR)
    to_date = dictionary.loc[dictionary["drift"] == TO_DATE, "feature"].tolist()
    drift = count_toward_verdict(drift, to_date, int(config["history_months"].iloc[0]))
    outcomes = relations.aggregate(
        mart,
        [SNAPSHOT],
        {"customers": "count(*)", "churn_rate": "avg(cast(churned_within_horizon as double))"},
        where="is_matured",
    )
    current = expected_performance(
        ranked.column("churn_probability").to_numpy(),
        ranked.column("raw_probability").to_numpy(),
        capacity_k,
    )
    track = metrics.loc[metrics["method"] == "xgboost", ["scoring_month", "estimated_roc_auc"]]
    performance = performance_table(metrics, outcomes, current, windows, track)
    row = config.iloc[0]
    bands = daily_volume_bands(
        connection.table("monitor_daily_volume").df(),
        check_from=pd.Timestamp(row["feature_reference_from"]),
        check_to=pd.Timestamp(row["as_of_date"]) - pd.Timedelta(days=1),
        history_weeks=int(row["volume_history_weeks"]),
        k=VOLUME_K,
        min_relative=VOLUME_MIN_RELATIVE,
        min_absolute=VOLUME_MIN_ABSOLUTE,
    )
    return {
        "profiles": len(profiles),
        "drift": len(drift),
        "performance": len(performance),
        "volume": len(bands),
    }


def by_rebuild_stage(stages: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Floor seconds summed per rebuild stage (REBUILD_STAGE), for the ratio stage by stage."""
    seconds: dict[str, float] = {}
    for name, stage in REBUILD_STAGE.items():
        if name in stages:
            seconds[stage] = seconds.get(stage, 0.0) + float(stages[name]["seconds"])
    return seconds


def _comparisons(
    stages: dict[str, dict[str, float]], labeled: pd.DataFrame, config: ModelConfig
) -> None:
    """The candidate's fit on one thread: OpenMP threads stall when the cores are busy."""
    one_thread = replace(config, params={**config.params, "nthread": 1})
    timed(stages, "train_1_thread", fit_churn_model, model_frame(labeled, config), one_thread)


def _shap_package(
    stages: dict[str, dict[str, float]], fitted: ChurnModel, chosen: pd.DataFrame
) -> float:
    """The shap package on the explained rows, for comparison: the same numbers, plus its
    import (a dev dependency, requirements-dev.txt). Returns the largest difference."""
    import shap

    if not len(chosen):
        return 0.0
    native, _ = contributions(fitted, chosen)
    matrix = xgb.DMatrix(
        to_matrix(chosen, fitted.config, fitted.categories), enable_categorical=True
    )
    values = timed(
        stages, "shap_package", lambda: shap.TreeExplainer(fitted.booster).shap_values(matrix)
    )
    # The blends (ml.blend, ml.linear) rescale XGBoost's values: not comparable.
    if fitted.config.blend_weight or fitted.config.linear_weight:
        return float("nan")
    return float(np.max(np.abs(native - values)))


def floor(home: Path) -> dict[str, Any]:
    """Time each bare stage on the data of the build published in `home`."""
    settings = Settings(home=home)
    pointer = warehouse.current(settings)
    if pointer is None:
        raise SystemExit(f"no published build in {home}")
    # Settings, not work: the build's model and feature configuration.
    with warehouse.connect(pointer["path"]) as built:
        options = built.execute("select * from ml_config").df()
        dictionary = built.execute("select * from feature_dictionary").df()
    capacity_k = load_settings(options).capacity_k
    config = model_config(load_settings(options), dictionary.to_dict("records"))
    manifest = json.loads((settings.dbt_target_dir / "manifest.json").read_text())
    stages: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="floor-", dir=home) as folder:
        connection = open_floor_db(settings, Path(folder))
        timed(stages, "features_sql", run_models, connection, manifest, [FEATURE_MART])
        mart = connection.table(FEATURE_MART)
        # ml_backtest_predictions and ml_backtest_metrics, with no cache: every month is fitted.
        labeled = timed(stages, "backtest_load", load_labeled, mart, config, EXTRA_COLUMNS)
        rows_labeled = len(labeled)
        predictions = timed(stages, "backtest", walk_forward, labeled, config)
        del labeled
        metrics = timed(stages, "backtest_metrics", monthly_metrics, predictions, capacity_k)
        # ml_model_candidate: its own compact read of the labeled rows, then the fit.
        labeled = timed(stages, "load", load_labeled, mart, config)
        record = timed(stages, "train", candidate_fit, mart, labeled, config)
        _comparisons(stages, labeled, config)
        del labeled
        # ml_predictions and ml_explanations, with the candidate (a first build promotes it).
        fitted, ranked = timed(stages, "predict", score, mart, record)
        chosen, explained = timed(stages, "explain", explain, mart, fitted, ranked, capacity_k)
        timed(stages, "monitor_sql", run_models, connection, manifest, MONITOR_SQL, [FEATURE_MART])
        monitored = timed(
            stages, "monitors", monitors, connection, fitted, ranked, metrics, dictionary,
            capacity_k,
        )  # fmt: skip
        connection.close()
    difference = _shap_package(stages, fitted, chosen)
    return {
        "stages": stages,
        "seconds": sum(v["seconds"] for k, v in stages.items() if k not in EXTRA_STAGES),
        "by_rebuild_stage": by_rebuild_stage(stages),
        "rows_labeled": rows_labeled,
        "rows_boosted": int(fitted.n_train),
        "rows_scored": ranked.num_rows,
        "rows_explained": len(chosen),
        "shap_rows": explained.num_rows,
        "backtest_months": int(predictions["scoring_month"].nunique()),
        "backtest_rows": len(predictions),
        "monitor_rows": monitored,
        "trees": fitted.booster.num_boosted_rounds(),
        "treeshap_vs_shap_max_abs_diff": difference,
    }


if __name__ == "__main__":
    print(json.dumps(floor(Path(sys.argv[1]))))
