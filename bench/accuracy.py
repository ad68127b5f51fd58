"""Accuracy on every dataset: `python -m bench.accuracy [--datasets demo,retail,telco,cdnow]`.

Each dataset is imported (or generated) into a temporary home and built through
`python -m pipeline` as a user would, with no model settings in its mapping; the table
reports what the product promises on any business (docs/modeling.md): the walk-forward mean
ROC AUC of the model and of every baseline, the Brier score, how many of the customers the
team can contact get a risk of their own, customers with a purchase history but no value at
risk, and the verdict. Results go to bench/results/accuracy.json and a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from pipeline import warehouse
from pipeline.read import queries
from pipeline.settings import ROOT, Settings

RESULTS = ROOT / "bench" / "results" / "accuracy.json"
SHARED = ROOT.parent / "shared" / "datasets"
METHODS = ("xgboost", "logistic", "bg_nbd", "recency")


def _pipeline(home: Path, *args: str, data_dir: Path | None = None) -> None:
    env = {**os.environ, "BATON_HOME": str(home), "BATON_ML_CACHE": "off"}
    if data_dir is not None:
        env["BATON_DATA_DIR"] = str(data_dir)
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=env, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"pipeline {' '.join(args)} failed:\n{done.stderr[-2000:]}")


def _cdnow_folder(root: Path) -> Path:
    """A data folder holding CDNOW_master.txt from the Lifetimes wheel (a dev dependency)."""
    import importlib.util

    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("CDNOW needs the Lifetimes wheel: make dev-setup")
    folder = root / "cdnow-data"
    folder.mkdir()
    master = Path(spec.submodule_search_locations[0]) / "datasets" / "CDNOW_master.txt"
    shutil.copy(master, folder / "CDNOW_master.txt")
    return folder


def build(dataset: str, root: Path) -> Path:
    """Import or generate `dataset` into a fresh home under `root`, rebuild; its warehouse."""
    home = root / dataset
    if dataset == "demo":
        _pipeline(home, "demo")
    elif dataset == "retail":
        _pipeline(home, "import", str(ROOT / "examples" / "online_retail.yml"), data_dir=SHARED)
    elif dataset == "telco":
        _pipeline(home, "import", str(ROOT / "examples" / "telco.yml"), data_dir=SHARED)
    elif dataset == "cdnow":
        folder = _cdnow_folder(root)
        _pipeline(home, "import", str(ROOT / "examples" / "cdnow.yml"), data_dir=folder)
    else:
        raise SystemExit(f"unknown dataset {dataset!r}")
    _pipeline(home, "rebuild")
    pointer = warehouse.current(Settings(home=home))
    assert pointer is not None
    return Path(pointer["path"])


def measure(path: Path) -> dict[str, Any]:
    """What the table reports for one published build."""
    metrics = queries.backtest_metrics(path)
    by_method = metrics.groupby("method")[["roc_auc", "brier"]].mean()
    at_risk = queries.at_risk(path)
    k = min(queries.capacity_k(path), len(at_risk))
    top = at_risk.head(k)["churn_probability"]
    with duckdb.connect(str(path), read_only=True) as connection:
        calibration = connection.execute(
            "select json_extract_string(calibrator, '$.method') from ml_model_in_service"
        ).fetchall()[0][0]
    verdict = queries.triage(path)
    return {
        "months": int(metrics["scoring_month"].nunique()),
        "roc_auc": {m: _plain(by_method["roc_auc"].get(m)) for m in METHODS},
        "brier": _plain(by_method["brier"].get("xgboost")),
        "settings": sorted(set(metrics.loc[metrics["method"] == "xgboost", "settings"])),
        "calibration": calibration,
        "capacity_k": k,
        "distinct_risks_in_top_k": int(top.round(6).nunique()),
        "distinct_risks_in_top_k_at_0_1_point": int((top * 100).round(1).nunique()),
        "top_k_risk_span_pct": [round(float(top.min()) * 100, 1), round(float(top.max()) * 100, 1)],
        "zero_value_at_risk": int((at_risk["customer_value"].fillna(0) <= 0).sum()),
        "verdict": verdict["verdict"] if verdict else None,
    }


def _plain(value: Any) -> float | None:
    return None if value is None or value != value else round(float(value), 4)


def table(results: dict[str, dict[str, Any]]) -> str:
    """The results as a markdown table."""
    head = "| dataset | months | model | logistic | BG/NBD | recency | Brier | distinct | verdict |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for name, row in results.items():
        auc = row["roc_auc"]
        shown = ["–" if auc[m] is None else f"{auc[m]:.4f}" for m in METHODS]
        lines.append(
            f"| {name} | {row['months']} | {' | '.join(shown)} | {row['brier']} | "
            f"{row['distinct_risks_in_top_k']} of {row['capacity_k']} | {row['verdict']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Build every dataset asked for and write the results."""
    parser = argparse.ArgumentParser(prog="python -m bench.accuracy", description=__doc__)
    parser.add_argument("--datasets", default="demo,retail,telco,cdnow")
    args = parser.parse_args(argv)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="baton-accuracy-") as folder:
        for dataset in args.datasets.split(","):
            started = time.time()
            results[dataset] = {
                **measure(build(dataset, Path(folder))),
                "build_and_import_seconds": round(time.time() - started, 1),
            }
            print(f"{dataset}: {json.dumps(results[dataset])}", flush=True)
    RESULTS.write_text(
        json.dumps(
            {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "results": results},
            indent=2,
        )
    )
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
