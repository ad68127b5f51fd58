"""Bare-compute floor of one rebuild: the feature SQL, one fit, scoring and TreeSHAP; no dbt.

The fit and the explained rows are the product's own choices (ml/config.py defaults with
negative subsampling; `ml.explain.rows_to_explain`), so the ratio rebuild / floor measures
the overhead of dbt, the backtest and the app's tables, not a different amount of work.

Run as `python -m bench.floor BATON_HOME` after a build; prints one JSON object.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import xgboost as xgb

from ml.config import load_settings, model_config
from ml.explain import rows_to_explain
from ml.frame import SNAPSHOT, load_labeled, to_matrix
from ml.train import fit_churn_model
from pipeline import warehouse
from pipeline.settings import Settings, duckdb_memory_limit

FEATURE_MART = "customer_snapshots"
EXTRA_STAGES = ("train_1_thread", "shap_package")  # comparisons, not part of the floor
T = TypeVar("T")


def feature_models(manifest: dict[str, Any], target: str = FEATURE_MART) -> list[dict[str, Any]]:
    """The models `target` is built from, and `target` itself, in dependency order."""
    nodes = manifest["nodes"]
    ordered: list[dict[str, Any]] = []
    seen: set[str] = set()

    def visit(unique_id: str) -> None:
        if unique_id in seen or not unique_id.startswith("model."):
            return
        seen.add(unique_id)
        for parent in nodes[unique_id]["depends_on"]["nodes"]:
            visit(parent)
        ordered.append(nodes[unique_id])

    visit(f"model.{manifest['metadata']['project_name']}.{target}")
    return ordered


def run_feature_sql(settings: Settings, folder: Path) -> duckdb.DuckDBPyConnection:
    """Rebuild the feature mart from dbt's compiled SQL in a file whose catalog is `warehouse`."""
    manifest = json.loads((settings.dbt_target_dir / "manifest.json").read_text())
    # Compiled SQL names relations "warehouse"."main"."...": the build file is warehouse.duckdb.
    # The build's DuckDB memory limit, so the floor does the same work in the same memory.
    connection = duckdb.connect(
        str(folder / "warehouse.duckdb"),
        config={"memory_limit": duckdb_memory_limit(), "temp_directory": str(folder / "tmp")},
    )
    connection.execute("attach ? as raw (read_only)", [str(settings.raw_path)])
    for node in feature_models(manifest):
        kind = "view" if node["config"]["materialized"] == "view" else "table"
        connection.execute(f'create {kind} "{node["name"]}" as {node["compiled_code"]}')
    return connection


def peak_mib() -> float:
    """Peak RSS of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(stages: dict[str, dict[str, float]], name: str, work: Callable[..., T], *args: Any) -> T:
    """Run `work(*args)`, recording its seconds and this process's peak MiB so far as `name`."""
    started = time.perf_counter()
    result = work(*args)
    stages[name] = {"seconds": time.perf_counter() - started, "peak_mib": peak_mib()}
    return result


def floor(home: Path) -> dict[str, Any]:
    """Time each bare stage on the data of the build published in `home`."""
    settings = Settings(home=home)
    pointer = warehouse.current(settings)
    if pointer is None:
        raise SystemExit(f"no published build in {home}")
    with warehouse.connect(pointer["path"]) as built:
        options = built.execute("select * from ml_config").df()
        dictionary = built.execute("select * from feature_dictionary").df()
    config = model_config(load_settings(options), dictionary.to_dict("records"))
    stages: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="floor-", dir=home) as folder:
        connection = timed(stages, "features_sql", run_feature_sql, settings, Path(folder))
        # Loaded as the build's Python models load them: the labeled rows compact (as the
        # candidate does), the newest snapshot whole (as scoring does).
        mart = connection.table(FEATURE_MART)
        labeled = timed(stages, "load", load_labeled, mart, config)
        newest = f"(select max({SNAPSHOT}) from {FEATURE_MART})"
        latest = mart.filter(f"{SNAPSHOT} = {newest}").df()
        connection.close()
    rows_labeled = len(labeled)
    model = timed(stages, "train", fit_churn_model, labeled, config)
    # The same fit on one thread: OpenMP threads stall when the cores are busy elsewhere.
    one_thread = replace(config, params={**config.params, "nthread": 1})
    timed(stages, "train_1_thread", fit_churn_model, labeled, one_thread)
    del labeled
    raw = timed(stages, "predict", model.raw_probability, latest)
    probability = model.calibrator.transform(raw)
    rank = np.empty(len(latest), dtype=np.int64)
    rank[np.lexsort((-raw, -probability))] = np.arange(1, len(latest) + 1)
    # The rows the build explains: the at-risk list at capacity and the importance sample.
    explain, _ = rows_to_explain(latest, probability, rank, config.capacity_k, config.seed)
    explained = latest[explain]
    matrix = xgb.DMatrix(
        to_matrix(explained, model.config, model.categories), enable_categorical=True
    )
    native = timed(stages, "treeshap", lambda: model.booster.predict(matrix, pred_contribs=True))
    # The shap package on the same rows, for comparison: the same numbers, plus its import.
    # A dev dependency (requirements-dev.txt): the product computes SHAP values with XGBoost.
    import shap

    values = timed(
        stages, "shap_package", lambda: shap.TreeExplainer(model.booster).shap_values(matrix)
    )
    return {
        "stages": stages,
        "seconds": sum(v["seconds"] for k, v in stages.items() if k not in EXTRA_STAGES),
        "rows_labeled": rows_labeled,
        "rows_boosted": model.n_train,
        "rows_scored": len(latest),
        "rows_explained": len(explained),
        "trees": model.booster.num_boosted_rounds(),
        "treeshap_vs_shap_max_abs_diff": float(np.max(np.abs(native[:, :-1] - values)))
        if len(explained)
        else 0.0,
    }


if __name__ == "__main__":
    print(json.dumps(floor(Path(sys.argv[1]))))
